package dev.loraxj.api;

/**
 * A request refused at the HTTP layer, before a route reads it: its credential, framing, size,
 * media type, path or method. {@link ApiError} and {@link OpenaiErrors} give it its status and error shape.
 */
final class HttpRequestException extends RuntimeException {

    /** Each refusal's status, and its name as LoRAX's error_type and OpenAI's code. */
    enum Kind {
        MALFORMED(400, "bad_request"),
        UNAUTHORIZED(401, "unauthorized"),
        FORBIDDEN(403, "forbidden"),
        NO_ROUTE(404, "not_found"),
        METHOD_NOT_ALLOWED(405, "method_not_allowed"),
        TOO_LARGE(413, "payload_too_large"),
        MEDIA_TYPE(415, "unsupported_media_type");

        final int status;
        final String code;

        Kind(int status, String code) {
            this.status = status;
            this.code = code;
        }
    }

    private final Kind kind;

    HttpRequestException(Kind kind, String message) {
        super(message, null, false, false); // the client's mistake: no stack trace to fill or log
        this.kind = kind;
    }

    int status() {
        return kind.status;
    }

    String code() {
        return kind.code;
    }
}
