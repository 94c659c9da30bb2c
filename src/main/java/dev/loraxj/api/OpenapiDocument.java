package dev.loraxj.api;

/** Names the OpenAPI annotations share (tags, the error responses declared in package-info, media types). */
final class OpenapiDocument {
    static final String LORAX = "LoRAX";
    static final String OPENAI = "OpenAI";
    static final String LORAX_ERROR = "LoraxError";
    static final String OPENAI_ERROR = "OpenaiError";
    static final String JSON = "application/json";
    static final String SSE = "text/event-stream";

    private OpenapiDocument() {
    }
}
