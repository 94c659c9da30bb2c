package dev.loraxj.api;

import dev.loraxj.adapter.AdapterAccessException;
import dev.loraxj.adapter.AdapterException;
import dev.loraxj.adapter.AdapterRequestException;
import dev.loraxj.engine.EngineException;
import dev.loraxj.grammar.GrammarException;
import dev.loraxj.model.ModelException;
import dev.loraxj.service.NotReadyException;
import dev.loraxj.service.OverloadedException;
import dev.loraxj.service.ValidationException;
import org.jboss.logging.Logger;

/** The one place where failures become HTTP statuses and LoRAX error bodies. */
public record ApiError(int status, ErrorResponse body) {

    private static final Logger LOG = Logger.getLogger(ApiError.class);

    public static ApiError of(Throwable t) {
        Throwable e = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return switch (e) {
            case ValidationException v -> new ApiError(422, new ErrorResponse(v.getMessage(), "validation"));
            case GrammarException g -> new ApiError(422, new ErrorResponse(g.getMessage(), "validation"));
            case HttpRequestException h -> new ApiError(h.status(), new ErrorResponse(h.getMessage(), h.code()));
            case OverloadedException o -> new ApiError(429, new ErrorResponse(o.getMessage(), "overloaded"));
            case NotReadyException n -> new ApiError(503, new ErrorResponse(n.getMessage(), "unhealthy"));
            case EngineException g -> new ApiError(424, new ErrorResponse(g.getMessage(), "generation"));
            case AdapterRequestException r -> new ApiError(422, new ErrorResponse(r.getMessage(), "validation"));
            case AdapterAccessException d -> d.missingToken()
                    ? new ApiError(401, new ErrorResponse(d.getMessage(), "unauthorized"))
                    : new ApiError(403, new ErrorResponse(d.getMessage(), "forbidden"));
            case AdapterException a -> new ApiError(424, new ErrorResponse(a.getMessage(), "generation"));
            case ModelException m -> new ApiError(424, new ErrorResponse(m.getMessage(), "generation"));
            default -> {
                LOG.error("unexpected failure", e);
                yield new ApiError(500, new ErrorResponse("internal error: " + e.getClass().getSimpleName(), "internal"));
            }
        };
    }
}
