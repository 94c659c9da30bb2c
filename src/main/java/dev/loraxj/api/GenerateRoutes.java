package dev.loraxj.api;

import dev.loraxj.engine.Generation;
import dev.loraxj.service.LoraxRequest;
import dev.loraxj.service.InferenceService;
import dev.loraxj.service.ModelHost;
import dev.loraxj.service.ModelRuntime;
import dev.loraxj.service.ValidRequest;
import io.quarkus.vertx.web.Body;
import io.quarkus.vertx.web.Route;
import io.smallrye.mutiny.subscription.Cancellable;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import java.util.List;
import java.util.function.Consumer;

/** LoRAX's generation routes: /generate, /generate_stream and the compat POST /. */
@ApplicationScoped
@Tag(name = OpenapiDocument.LORAX)
public class GenerateRoutes {

    private final InferenceService service;
    private final ModelHost host;

    public GenerateRoutes(InferenceService service, ModelHost host) {
        this.service = service;
        this.host = host;
    }

    @Route(path = "/generate", methods = Route.HttpMethod.POST)
    @Operation(summary = "Generate text", description = "The whole generation at once; `parameters.adapter_id` names the adapter.")
    @RequestBody(required = true, content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = LoraxRequest.class)))
    @APIResponse(responseCode = "200", description = "The generated text, with details when asked",
            content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = Wire.GenerateResponse.class)))
    @APIResponse(responseCode = "4XX", ref = OpenapiDocument.LORAX_ERROR)
    @APIResponse(responseCode = "503", ref = OpenapiDocument.LORAX_ERROR)
    void generate(RoutingContext rc, @Body Buffer body) {
        HttpExchange ex = new HttpExchange(rc);
        validated(ex, body, false, valid -> whole(ex, valid, false));
    }

    @Route(path = "/generate_stream", methods = Route.HttpMethod.POST)
    @Operation(summary = "Generate text as server-sent events",
            description = "One `data:` event per token; the last carries `generated_text`, and `details` when asked.")
    @RequestBody(required = true, content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = LoraxRequest.class)))
    @APIResponse(responseCode = "200", description = "Server-sent events, each a StreamResponse",
            content = @Content(mediaType = OpenapiDocument.SSE, schema = @Schema(implementation = Wire.StreamResponse.class)))
    @APIResponse(responseCode = "4XX", ref = OpenapiDocument.LORAX_ERROR)
    @APIResponse(responseCode = "503", ref = OpenapiDocument.LORAX_ERROR)
    void generateStream(RoutingContext rc, @Body Buffer body) {
        HttpExchange ex = new HttpExchange(rc);
        validated(ex, body, true, valid -> stream(ex, valid));
    }

    /** LoRAX's compat route: {@code stream} picks SSE, else a one-element array. */
    @Route(path = "/", methods = Route.HttpMethod.POST)
    @Operation(summary = "Generate text, streamed or not", description = "`stream: true` answers as /generate_stream; "
            + "otherwise a one-element array of what /generate answers.")
    @RequestBody(required = true, content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = LoraxRequest.class)))
    @APIResponse(responseCode = "200", description = "A one-element array, or server-sent events with `stream`",
            content = {@Content(mediaType = OpenapiDocument.JSON, schema = @Schema(type = SchemaType.ARRAY, implementation = Wire.GenerateResponse.class)),
                    @Content(mediaType = OpenapiDocument.SSE, schema = @Schema(implementation = Wire.StreamResponse.class))})
    @APIResponse(responseCode = "4XX", ref = OpenapiDocument.LORAX_ERROR)
    @APIResponse(responseCode = "503", ref = OpenapiDocument.LORAX_ERROR)
    void compat(RoutingContext rc, @Body Buffer body) {
        HttpExchange ex = new HttpExchange(rc);
        LoraxRequest request = parse(ex, body);
        if (request == null) {
            return;
        }
        boolean streaming = Boolean.TRUE.equals(request.stream());
        validated(ex, request, streaming, valid -> {
            if (streaming) {
                stream(ex, valid);
            } else {
                whole(ex, valid, true);
            }
        });
    }

    private void validated(HttpExchange ex, Buffer body, boolean streaming, Consumer<ValidRequest> then) {
        LoraxRequest request = parse(ex, body);
        if (request != null) {
            validated(ex, request, streaming, then);
        }
    }

    /** The request, or null after answering the client with the parse error. */
    private static LoraxRequest parse(HttpExchange ex, Buffer body) {
        try {
            return Json.parse(body, LoraxRequest.class);
        } catch (RuntimeException e) {
            ex.fail(e);
            return null;
        }
    }

    /** Validation tokenizes, so it runs on a worker; the answer comes back on the event loop. */
    private void validated(HttpExchange ex, LoraxRequest request, boolean streaming, Consumer<ValidRequest> then) {
        String adapterToken = ex.adapterToken();
        ex.vertx().executeBlocking(() -> service.validate(request, streaming, adapterToken), false)
                .onComplete(ar -> {
                    if (ar.failed()) {
                        ex.fail(ar.cause());
                        return;
                    }
                    try {
                        then.accept(ar.result());
                    } catch (RuntimeException e) {
                        ex.fail(e);
                    }
                });
    }

    private void whole(HttpExchange ex, ValidRequest valid, boolean asArray) {
        long validated = System.nanoTime();
        Cancellable c = service.generate(valid)
                .emitOn(ex.onContext())
                .subscribe().with(result -> {
                    Wire.GenerateResponse response = Responses.generate(valid, result);
                    headers(ex, valid, result.best(), validated);
                    ex.json(200, asArray ? List.of(response) : response);
                }, ex::fail);
        ex.onClientGone(c::cancel);
    }

    private void stream(HttpExchange ex, ValidRequest valid) {
        HttpServerResponse r = ex.response();
        r.putHeader("x-model-id", modelId());
        adapterHeaders(r, valid);
        r.putHeader("x-compute-characters", String.valueOf(valid.inputs().codePointCount(0, valid.inputs().length())));
        Cancellable c = service.stream(valid)
                .emitOn(ex.onContext())
                .subscribe().with(event -> ex.sse(Responses.streamEvent(valid, event)), ex::fail, ex::end);
        ex.onClientGone(c::cancel);
    }

    private void headers(HttpExchange ex, ValidRequest valid, Generation g, long validatedNanos) {
        HttpServerResponse r = ex.response();
        long now = System.nanoTime();
        long total = ms(now - ex.startNanos());
        long inference = ms(g.endNanos() - g.startNanos());
        r.putHeader("x-compute-type", deviceType() + "+optimized");
        r.putHeader("x-compute-time", String.valueOf(total));
        r.putHeader("x-compute-characters", String.valueOf(valid.inputs().codePointCount(0, valid.inputs().length())));
        r.putHeader("x-total-time", String.valueOf(total));
        r.putHeader("x-validation-time", String.valueOf(ms(validatedNanos - ex.startNanos())));
        r.putHeader("x-queue-time", String.valueOf(ms(g.startNanos() - g.queuedNanos())));
        r.putHeader("x-inference-time", String.valueOf(inference));
        r.putHeader("x-time-per-token", String.valueOf(inference / Math.max(1, g.generatedTokens())));
        r.putHeader("x-prompt-tokens", String.valueOf(g.promptTokens()));
        r.putHeader("x-generated-tokens", String.valueOf(g.generatedTokens()));
        r.putHeader("x-total-tokens", String.valueOf(g.promptTokens() + g.generatedTokens()));
        r.putHeader("x-model-id", modelId());
        adapterHeaders(r, valid);
    }

    /** LoRAX's x-adapter-id and x-adapter-source, when the request ran with an adapter. */
    private static void adapterHeaders(HttpServerResponse r, ValidRequest valid) {
        if (valid.adapter() != null) {
            r.putHeader("x-adapter-id", Responses.adapterId(valid.adapter()));
            r.putHeader("x-adapter-source", Responses.adapterSource(valid.adapter()));
        }
    }

    private String modelId() {
        return host.configuredModelId();
    }

    private String deviceType() {
        ModelRuntime rt = host.runtime();
        return rt.backend().deviceType();
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
