package dev.loraxj.service;

/** A LoRAX generate request as sent; {@code stream} only matters for {@code POST /}. */
public record LoraxRequest(String inputs, GenerateParameters parameters, Boolean stream) {
    public GenerateParameters params() {
        return parameters == null ? GenerateParameters.none() : parameters;
    }
}
