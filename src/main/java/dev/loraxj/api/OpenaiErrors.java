package dev.loraxj.api;

import dev.loraxj.adapter.AdapterAccessException;
import dev.loraxj.adapter.AdapterException;
import dev.loraxj.adapter.AdapterNotFoundException;
import dev.loraxj.adapter.AdapterRequestException;
import dev.loraxj.engine.EngineException;
import dev.loraxj.grammar.GrammarException;
import dev.loraxj.model.ChatTemplateException;
import dev.loraxj.model.ModelException;
import dev.loraxj.service.NotReadyException;
import dev.loraxj.service.OverloadedException;
import dev.loraxj.service.ValidationException;
import org.jboss.logging.Logger;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Failures as OpenAI reports them: {@code {"error":{"message","type","param","code"}}} with OpenAI's
 * statuses (400, 401, 403, 404, 429, 500, 503; 405, 413 and 415 for HTTP refusals). The LoRAX routes
 * keep {@link ApiError}.
 */
record OpenaiErrors(int status, OpenaiWire.ErrorBody body) {

    private static final Logger LOG = Logger.getLogger(OpenaiErrors.class);
    /** A field in backquotes: a name, or a path such as {@code response_format.json_schema.name} or {@code messages[1].tool_call_id}. */
    private static final Pattern FIELD = Pattern.compile("`([a-z_]+(?:\\.[a-z_]+|\\[[0-9]+])*)`");
    /** The engine's parameter names, as an OpenAI client knows them. */
    enum Names {
        CHAT(Map.of("inputs", "messages", "max_new_tokens", "max_tokens", "return_k_alternatives", "top_logprobs",
                "adapter_id", "model", "adapter_source", "adapter_source")),
        COMPLETIONS(Map.of("inputs", "prompt", "max_new_tokens", "max_tokens", "return_k_alternatives", "logprobs",
                "adapter_id", "model", "decoder_input_details", "echo", "adapter_source", "adapter_source"));

        private final Map<String, String> names;

        Names(Map<String, String> names) {
            this.names = names;
        }

        String rename(String message) {
            Matcher m = FIELD.matcher(message);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                m.appendReplacement(sb, Matcher.quoteReplacement("`" + names.getOrDefault(m.group(1), m.group(1)) + "`"));
            }
            return m.appendTail(sb).toString();
        }
    }

    static OpenaiErrors of(Throwable t, Names names) {
        Throwable e = unwrap(t);
        return switch (e) {
            case UnknownParameterException u -> invalid(u.getMessage(), u.name());
            case ValidationException v -> {
                String message = names.rename(v.getMessage());
                yield invalid(message, param(message));
            }
            case GrammarException g -> invalid(g.getMessage(), param(g.getMessage()) == null ? "response_format" : param(g.getMessage()));
            case HttpRequestException h when h.status() == 401 -> error(401, h.getMessage(), "authentication_error", null, "invalid_api_key");
            case HttpRequestException h when h.status() == 403 -> error(403, h.getMessage(), "permission_error", null, "insufficient_permissions");
            case HttpRequestException h -> error(h.status(), h.getMessage(), "invalid_request_error", null, h.code());
            case ChatTemplateException c -> invalid(c.getMessage(), "messages");
            case AdapterAccessException d -> d.missingToken()
                    ? error(401, d.getMessage(), "authentication_error", "model", "invalid_api_key")
                    : error(403, d.getMessage(), "permission_error", "model", "model_access_denied");
            case AdapterRequestException r -> invalid(r.getMessage(), "model");
            case AdapterNotFoundException a -> error(404, a.getMessage(), "invalid_request_error", "model", "model_not_found");
            case AdapterException a -> error(400, a.getMessage(), "invalid_request_error", "model", "model_not_available");
            case OverloadedException o -> error(429, o.getMessage(), "rate_limit_error", null, "rate_limit_exceeded");
            case NotReadyException n -> error(503, n.getMessage(), "server_error", null, "service_unavailable");
            case EngineException g -> error(500, g.getMessage(), "server_error", null, null);
            case ModelException m -> error(500, m.getMessage(), "server_error", null, null);
            default -> {
                LOG.error("unexpected failure", e);
                yield error(500, "internal error: " + e.getClass().getSimpleName(), "server_error", null, null);
            }
        };
    }

    static OpenaiErrors invalid(String message, String param) {
        return error(400, message, "invalid_request_error", param, null);
    }

    private static OpenaiErrors error(int status, String message, String type, String param, String code) {
        return new OpenaiErrors(status, new OpenaiWire.ErrorBody(new OpenaiWire.ErrorDetail(message, type, param, code)));
    }

    /** The first field a message names in backquotes, as OpenAI's param. */
    private static String param(String message) {
        Matcher m = FIELD.matcher(message);
        return m.find() ? m.group(1) : null;
    }

    private static Throwable unwrap(Throwable t) {
        Throwable e = t;
        while ((e instanceof java.util.concurrent.CompletionException || e instanceof java.util.concurrent.ExecutionException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /** Answers with the error: a JSON body, or an SSE error event then [DONE] once the stream has started. */
    void send(HttpExchange ex) {
        if (!ex.open()) {
            return;
        }
        if (ex.response().headWritten()) {
            ex.sse(body);
            ex.sseRaw("[DONE]");
            ex.end();
        } else {
            ex.json(status, body);
        }
    }
}
