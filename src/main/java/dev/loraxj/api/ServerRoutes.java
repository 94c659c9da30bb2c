package dev.loraxj.api;

import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.model.TokenSpan;
import dev.loraxj.service.GenerateParameters;
import dev.loraxj.service.LoraxRequest;
import dev.loraxj.service.InferenceService;
import dev.loraxj.service.Limits;
import dev.loraxj.service.ModelHost;
import dev.loraxj.service.ModelRuntime;
import io.quarkus.vertx.web.Body;
import io.quarkus.vertx.web.Route;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import java.util.Arrays;
import java.util.List;

/** LoRAX's /info, /health and /tokenize. */
@ApplicationScoped
@Tag(name = OpenapiDocument.LORAX)
public class ServerRoutes {

    static final String VERSION = "0.1.0";

    private final InferenceService service;
    private final ModelHost host;

    public ServerRoutes(InferenceService service, ModelHost host) {
        this.service = service;
        this.host = host;
    }

    public record Info(String modelId, String modelSha, String modelDtype, String modelDeviceType,
                       String modelPipelineTag, int maxConcurrentRequests, int maxBestOf, int maxStopSequences,
                       int maxInputLength, int maxTotalTokens, float waitingServedRatio, int maxBatchTotalTokens,
                       int maxWaitingTokens, int validationWorkers, String version, String sha, String dockerLabel,
                       String requestLoggerUrl, boolean eagerPrefill, int maxBatchPrefillTokens, int kvBlockSize,
                       int threads, String kvCacheDtype, boolean prefixCaching, String quantize, long weightBytes,
                       String device, String deviceReason, long kvCacheMemory, long kvCacheBytes, long adapterMemoryBudget,
                       long adapterHostMemoryBudget) {
    }

    /** TGI's /tokenize takes a whole generate request: its parameters are ignored. */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
    public record TokenizeRequest(String inputs, Boolean addSpecialTokens) {
    }

    @Route(path = "/info", methods = Route.HttpMethod.GET)
    @Operation(summary = "The served model, its device and the server's limits")
    @APIResponse(responseCode = "200", description = "The model and limits", content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = Info.class)))
    @APIResponse(responseCode = "503", ref = OpenapiDocument.LORAX_ERROR)
    void info(RoutingContext rc) {
        HttpExchange ex = new HttpExchange(rc);
        try {
            ModelRuntime rt = host.runtime();
            Limits l = rt.limits();
            ex.json(200, new Info(rt.modelId(), null, rt.backend().dtype(), rt.backend().deviceType(), "text-generation",
                    l.maxConcurrentRequests(), l.maxBestOf(), l.maxStopSequences(), l.maxInputLength(), l.maxTotalTokens(),
                    1.2f, l.maxBatchTotalTokens(), 20, 2, VERSION, null, null, null, false,
                    l.maxBatchPrefillTokens(), l.kvBlockSize(), l.threads(), rt.backend().kvDtype(), rt.engine().prefixCaching(),
                    rt.backend().linearDtype().equals(rt.backend().dtype()) ? "none" : rt.backend().linearDtype(), rt.backend().weightBytes(),
                    rt.device().device(), rt.device().reason(), rt.kvCacheMemory(), rt.kvCacheBytes(), rt.adapters().budgets().device(),
                    rt.adapters().budgets().host()));
        } catch (RuntimeException e) {
            ex.fail(e);
        }
    }

    @Route(path = "/tokenize", methods = Route.HttpMethod.POST)
    @Operation(summary = "Token ids with their text and character offsets")
    @RequestBody(required = true, content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = TokenizeRequest.class)))
    @APIResponse(responseCode = "200", description = "The tokens, in order", content = @Content(mediaType = OpenapiDocument.JSON,
            schema = @Schema(type = SchemaType.ARRAY, implementation = Wire.SimpleToken.class)))
    @APIResponse(responseCode = "4XX", ref = OpenapiDocument.LORAX_ERROR)
    @APIResponse(responseCode = "503", ref = OpenapiDocument.LORAX_ERROR)
    void tokenize(RoutingContext rc, @Body Buffer body) {
        HttpExchange ex = new HttpExchange(rc);
        try {
            TokenizeRequest req = Json.parse(body, TokenizeRequest.class);
            if (req.inputs() == null) {
                throw new dev.loraxj.service.ValidationException("`inputs` is required");
            }
            boolean special = req.addSpecialTokens() == null || req.addSpecialTokens();
            // tokenizing and serializing (up to a KV cache's worth of tokens) both run on a worker
            ex.vertx().executeBlocking(() -> Json.write(Arrays.stream(service.tokenize(req.inputs(), special))
                    .map((TokenSpan t) -> new Wire.SimpleToken(t.id(), t.text(), t.start(), t.stop())).toList()), false)
                    .onComplete(ar -> {
                        if (ar.failed()) {
                            ex.fail(ar.cause());
                        } else {
                            ex.json(200, ar.result());
                        }
                    });
        } catch (RuntimeException e) {
            ex.fail(e);
        }
    }

    /** One adapter held; a merge is listed by its readable name, e.g. merge(a*0.7, b*0.3; linear), with source "merge". */
    public record AdapterListing(String id, String source, String revision, String state, long bytes, int leases,
                                 boolean pinned, String description) {
    }

    public record AdapterList(List<AdapterListing> adapters, long bytesHeld, long memoryBudget) {
    }

    /** The adapters held, loading or waiting for memory, with their state and size. */
    @Route(path = "/adapters", methods = Route.HttpMethod.GET)
    @Operation(summary = "The adapters held, loading or waiting for memory")
    @APIResponse(responseCode = "200", description = "The adapters and the memory they hold", content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = AdapterList.class)))
    @APIResponse(responseCode = "503", ref = OpenapiDocument.LORAX_ERROR)
    void adapters(RoutingContext rc) {
        HttpExchange ex = new HttpExchange(rc);
        try {
            ModelRuntime rt = host.runtime();
            List<AdapterListing> out = rt.adapters().list().stream()
                    .map(i -> new AdapterListing(Responses.adapterId(i.key()), Responses.adapterSource(i.key()),
                            i.key() instanceof AdapterRef ref ? ref.revision() : null, i.state(), i.bytes(),
                            i.leases(), i.pinned(), i.description())).toList();
            ex.json(200, new AdapterList(out, rt.adapters().heldBytes(), rt.adapters().budgets().device()));
        } catch (RuntimeException e) {
            ex.fail(e);
        }
    }

    /** LoRAX's health: a one-token generation through the whole engine. */
    @Route(path = "/health", methods = Route.HttpMethod.GET)
    @Operation(summary = "Healthy when a one-token generation succeeds")
    @APIResponse(responseCode = "200", description = "Healthy (no body)")
    @APIResponse(responseCode = "503", ref = OpenapiDocument.LORAX_ERROR)
    void health(RoutingContext rc) {
        HttpExchange ex = new HttpExchange(rc);
        if (!host.ready()) {
            String why = host.notReady();
            ex.json(503, new ErrorResponse("unhealthy" + (why == null ? "" : ": " + why), "healthcheck"));
            return;
        }
        GenerateParameters one = new GenerateParameters(null, null, null, null, null, null, null, null, null, null,
                null, null, null, 1, null, null, null, null, null, null, null, null, null, null, null, null);
        ex.vertx().executeBlocking(() -> service.validate(new LoraxRequest("Where should Johnny live?", one, null), false), false)
                .onComplete(ar -> {
                    if (ar.failed()) {
                        ex.json(503, new ErrorResponse("unhealthy: " + ar.cause().getMessage(), "healthcheck"));
                        return;
                    }
                    try {
                        service.generate(ar.result()).emitOn(ex.onContext()).subscribe().with(
                                r -> rc.response().setStatusCode(200).end(),
                                t -> ex.json(503, new ErrorResponse("unhealthy: " + t.getMessage(), "healthcheck")));
                    } catch (RuntimeException e) {
                        ex.json(503, new ErrorResponse("unhealthy: " + e.getMessage(), "healthcheck"));
                    }
                });
    }
}
