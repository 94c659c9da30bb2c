package dev.loraxj.api;

import dev.loraxj.adapter.AdapterException;
import dev.loraxj.adapter.AdapterNotFoundException;
import dev.loraxj.config.LoraxjConfig;
import dev.loraxj.service.ModelHost;
import dev.loraxj.service.RuntimeAdapters;
import dev.loraxj.service.ValidationException;
import io.quarkus.vertx.web.Body;
import io.quarkus.vertx.web.Route;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * vLLM's runtime LoRA updating, which the Gateway API Inference Extension's LoRA syncer calls:
 * {@code POST /v1/load_lora_adapter} registers a name for an adapter (any source, {@code [source:]id})
 * and pins it, {@code POST /v1/unload_lora_adapter} forgets the name. Answers as vLLM does: 200 with a
 * plain-text line, errors as {@code {"error":{"message","type","param","code"}}} with the status as code.
 * Off unless loraxj.adapters.runtime-registration, then 404 as for any unknown path (vLLM registers no route).
 */
@ApplicationScoped
@Tag(name = OpenapiDocument.OPENAI)
public class LoraAdapterRoutes {

    /** vLLM's LoadLoRAAdapterRequest, and the base_model_name the LoRA syncer adds. */
    public record LoadRequest(String loraName, String loraPath, String baseModelName, Boolean loadInplace,
                              @com.fasterxml.jackson.annotation.JsonProperty("is_3d_lora_weight") Boolean is3dLoraWeight) {
    }

    /** vLLM's UnloadLoRAAdapterRequest. */
    public record UnloadRequest(String loraName, Integer loraIntId) {
    }

    /** vLLM's ErrorResponse: its code is the HTTP status. */
    public record VllmError(VllmErrorDetail error) {
    }

    public record VllmErrorDetail(String message, String type, String param, int code) {
    }

    private final ModelHost host;
    private final boolean enabled;

    public LoraAdapterRoutes(ModelHost host, LoraxjConfig config) {
        this.host = host;
        this.enabled = config.adapters().runtimeRegistration();
    }

    @Route(path = "/v1/load_lora_adapter", methods = Route.HttpMethod.POST)
    @Operation(summary = "Register a name for a LoRA adapter and keep it loaded (vLLM's runtime LoRA updating)",
            description = "Only with loraxj.adapters.runtime-registration=true (else 404). `lora_path` is `[source:]id`; once "
                    + "loaded, `model: <lora_name>` serves the adapter, pinned until unloaded. 200 with a plain-text line.")
    @RequestBody(required = true, content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = LoadRequest.class)))
    @APIResponse(responseCode = "200", description = "Loaded", content = @Content(mediaType = "text/plain"))
    @APIResponse(responseCode = "400", description = "A missing or taken name, an unknown source, or an adapter that cannot be served",
            content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = VllmError.class)))
    @APIResponse(responseCode = "404", description = "No such adapter, or the feature is off",
            content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = VllmError.class)))
    void load(RoutingContext rc, @Body Buffer body) {
        HttpExchange ex = new HttpExchange(rc);
        if (!enabled) {
            noRoute(ex, rc);
            return;
        }
        LoadRequest req;
        RuntimeAdapters adapters;
        try {
            req = Json.parse(body, LoadRequest.class);
            if (Boolean.TRUE.equals(req.loadInplace())) {
                throw new ValidationException("'load_inplace' is not supported: unload the adapter, then load it again");
            }
            if (Boolean.TRUE.equals(req.is3dLoraWeight())) {
                throw new ValidationException("'is_3d_lora_weight' is not supported");
            }
            if (req.baseModelName() != null && !req.baseModelName().isEmpty() && !host.servedModel().names(req.baseModelName())) {
                throw new ValidationException("'base_model_name' " + req.baseModelName() + " is not the served model ("
                        + host.servedModel().name() + ")");
            }
            adapters = host.runtime().runtimeAdapters();
        } catch (RuntimeException e) {
            error(ex, e);
            return;
        }
        // a local path is resolved on the filesystem: off the event loop
        ex.vertx().executeBlocking(() -> adapters.load(req.loraName(), req.loraPath()), false).onComplete(started -> {
            if (started.failed()) {
                error(ex, started.cause());
                return;
            }
            started.result().whenCompleteAsync((r, failure) -> {
                if (failure != null) {
                    error(ex, failure);
                } else {
                    text(ex, "Success: LoRA adapter '" + r.name() + "' added successfully.");
                }
            }, ex.onContext());
        });
    }

    @Route(path = "/v1/unload_lora_adapter", methods = Route.HttpMethod.POST)
    @Operation(summary = "Forget a LoRA adapter's registered name and unpin it (vLLM's runtime LoRA updating)",
            description = "Only with loraxj.adapters.runtime-registration=true (else 404). Requests running with it finish; "
                    + "it is evicted when idle and the room is needed.")
    @RequestBody(required = true, content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = UnloadRequest.class)))
    @APIResponse(responseCode = "200", description = "Unloaded", content = @Content(mediaType = "text/plain"))
    @APIResponse(responseCode = "400", description = "No name given",
            content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = VllmError.class)))
    @APIResponse(responseCode = "404", description = "No adapter registered under the name, or the feature is off",
            content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = VllmError.class)))
    void unload(RoutingContext rc, @Body Buffer body) {
        HttpExchange ex = new HttpExchange(rc);
        if (!enabled) {
            noRoute(ex, rc);
            return;
        }
        try {
            UnloadRequest req = Json.parse(body, UnloadRequest.class);
            if (req.loraIntId() != null) {
                throw new ValidationException("'lora_int_id' is not supported: name the adapter by 'lora_name'");
            }
            RuntimeAdapters.Registration r = host.runtime().runtimeAdapters().unload(req.loraName());
            text(ex, "Success: LoRA adapter '" + r.name() + "' removed successfully.");
        } catch (RuntimeException e) {
            error(ex, e);
        }
    }

    private static void noRoute(HttpExchange ex, RoutingContext rc) {
        OpenaiErrors.of(new HttpRequestException(HttpRequestException.Kind.NO_ROUTE,
                "no route for " + rc.request().method() + " " + rc.request().path()), OpenaiErrors.Names.CHAT).send(ex);
    }

    private static void text(HttpExchange ex, String line) {
        if (ex.open()) {
            ex.response().setStatusCode(200).putHeader("Content-Type", "text/plain; charset=utf-8").end(line);
        }
    }

    /** vLLM's statuses and types: 400 InvalidUserInput for the request, 404 NotFoundError, 400 BadRequestError for an adapter that fails. */
    private static void error(HttpExchange ex, Throwable t) {
        Throwable e = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        VllmErrorDetail detail = switch (e) {
            case UnknownParameterException u -> new VllmErrorDetail(u.getMessage(), "InvalidUserInput", u.name(), 400);
            case ValidationException v -> new VllmErrorDetail(v.getMessage(), "InvalidUserInput", null, 400);
            case AdapterNotFoundException n -> new VllmErrorDetail(n.getMessage(), "NotFoundError", null, 404);
            case AdapterException a -> new VllmErrorDetail(a.getMessage(), "BadRequestError", null, 400);
            default -> null;
        };
        if (detail == null) { // not ready (503), and what the OpenAI routes map the same way
            OpenaiErrors.of(e, OpenaiErrors.Names.CHAT).send(ex);
        } else {
            ex.json(detail.code(), new VllmError(detail));
        }
    }
}
