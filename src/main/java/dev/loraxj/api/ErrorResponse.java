package dev.loraxj.api;

/** LoRAX's error body. */
public record ErrorResponse(String error, String errorType) {
}
