package dev.loraxj.api;

import dev.loraxj.adapter.AdapterNotFoundException;
import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.config.LoraxjConfig;
import dev.loraxj.service.AdapterHold;
import dev.loraxj.service.InferenceService;
import dev.loraxj.service.LoraxRequest;
import dev.loraxj.service.ModelHost;
import dev.loraxj.service.ModelRuntime;
import dev.loraxj.service.ValidParameters;
import dev.loraxj.service.ValidRequest;
import io.quarkus.vertx.web.Body;
import io.quarkus.vertx.web.Route;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.ParameterIn;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * OpenAI's API: /v1/completions, /v1/chat/completions, /v1/models and /v1/models/{id}. {@code model} names the
 * adapter; the served model's name or "" means none. Tokenizing, template rendering and reading
 * files run on worker threads; the event loop only parses, dispatches and writes.
 */
@ApplicationScoped
@Tag(name = OpenapiDocument.OPENAI)
public class OpenaiRoutes {

    private final InferenceService service;
    private final ModelHost host;
    private final OpenaiChatPrompt chatPrompt;
    private final long started = Instant.now().getEpochSecond();

    public OpenaiRoutes(InferenceService service, ModelHost host, LoraxjConfig config) {
        this.service = service;
        this.host = host;
        this.chatPrompt = new OpenaiChatPrompt(config.chatTemplate());
    }

    @Route(path = "/v1/completions", methods = Route.HttpMethod.POST)
    @Operation(summary = "Complete a prompt", description = "With `stream`, server-sent events each holding a Completion "
            + "chunk, then `data: [DONE]`.")
    @RequestBody(required = true, content = @Content(mediaType = OpenapiDocument.JSON,
            schema = @Schema(implementation = OpenaiWire.CompletionRequest.class)))
    @APIResponse(responseCode = "200", description = "The choices, or a stream of chunks", content = {
            @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = OpenaiWire.Completion.class)),
            @Content(mediaType = OpenapiDocument.SSE, schema = @Schema(implementation = OpenaiWire.Completion.class))})
    @APIResponse(responseCode = "4XX", ref = OpenapiDocument.OPENAI_ERROR)
    @APIResponse(responseCode = "5XX", ref = OpenapiDocument.OPENAI_ERROR)
    void completions(RoutingContext rc, @Body Buffer body) {
        HttpExchange ex = new HttpExchange(rc);
        OpenaiErrors.Names names = OpenaiErrors.Names.COMPLETIONS;
        OpenaiRequests.Translated translated;
        List<String> prompts;
        try {
            OpenaiWire.CompletionRequest request = Json.parse(body, OpenaiWire.CompletionRequest.class);
            translated = OpenaiRequests.completion(request, host.servedModel());
            prompts = OpenaiRequests.prompts(request.prompt());
        } catch (RuntimeException e) {
            OpenaiErrors.of(e, names).send(ex);
            return;
        }
        String adapterToken = ex.adapterToken();
        ex.vertx().executeBlocking(() -> {
            List<ValidRequest> valid = new ArrayList<>();
            for (String prompt : prompts) {
                valid.add(service.validate(new LoraxRequest(prompt, translated.parameters(), translated.stream()), translated.stream(), adapterToken));
            }
            return valid;
        }, false).onComplete(ar -> {
            if (ar.failed()) {
                OpenaiErrors.of(ar.cause(), names).send(ex);
            } else {
                new OpenaiRun(ex, service, translated, false, ar.result(), null).start();
            }
        });
    }

    /**
     * Validates the parameters first (which resolves the adapter), holds the adapter (the caller's
     * access checked, then loaded: it may ship its own template), renders the conversation, then
     * validates the prompt. The hold covers the request until its sequences hold the adapter themselves.
     */
    @Route(path = "/v1/chat/completions", methods = Route.HttpMethod.POST)
    @Operation(summary = "Answer a conversation", description = "The messages are rendered with the adapter's, the "
            + "configured or the model's chat template. With `stream`, server-sent events each holding a ChatChunk, then `data: [DONE]`.")
    @RequestBody(required = true, content = @Content(mediaType = OpenapiDocument.JSON,
            schema = @Schema(implementation = OpenaiWire.ChatRequest.class)))
    @APIResponse(responseCode = "200", description = "The choices, or a stream of chunks", content = {
            @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = OpenaiWire.ChatCompletion.class)),
            @Content(mediaType = OpenapiDocument.SSE, schema = @Schema(implementation = OpenaiWire.ChatChunk.class))})
    @APIResponse(responseCode = "4XX", ref = OpenapiDocument.OPENAI_ERROR)
    @APIResponse(responseCode = "5XX", ref = OpenapiDocument.OPENAI_ERROR)
    void chat(RoutingContext rc, @Body Buffer body) {
        HttpExchange ex = new HttpExchange(rc);
        OpenaiErrors.Names names = OpenaiErrors.Names.CHAT;
        OpenaiRequests.Translated translated;
        List<Map<String, Object>> messages;
        try {
            OpenaiWire.ChatRequest request = Json.parse(body, OpenaiWire.ChatRequest.class);
            translated = OpenaiRequests.chat(request, host.servedModel());
            messages = OpenaiRequests.messages(request.messages());
        } catch (RuntimeException e) {
            OpenaiErrors.of(e, names).send(ex);
            return;
        }
        String adapterToken = ex.adapterToken();
        ex.vertx().executeBlocking(() -> withTools(service.validateParameters(translated.parameters(), translated.stream(), adapterToken),
                        translated.tools()), false)
                .onComplete(parameters -> {
                    if (parameters.failed()) {
                        OpenaiErrors.of(parameters.cause(), names).send(ex);
                        return;
                    }
                    ModelRuntime rt;
                    AdapterHold hold;
                    try {
                        rt = host.runtime();
                        hold = service.hold(parameters.result());
                    } catch (RuntimeException e) {
                        OpenaiErrors.of(e, names).send(ex);
                        return;
                    }
                    hold.adapter().whenCompleteAsync((loaded, failure) -> {
                        if (failure != null) {
                            hold.release();
                            OpenaiErrors.of(failure, names).send(ex);
                            return;
                        }
                        ex.vertx().executeBlocking(() -> service.validatePrompt(parameters.result(),
                                chatPrompt.render(rt, loaded, messages, translated.tools())), false).onComplete(valid -> {
                            try {
                                if (valid.failed()) {
                                    OpenaiErrors.of(valid.cause(), names).send(ex);
                                } else {
                                    new OpenaiRun(ex, service, translated, true, List.of(valid.result()), hold).start();
                                }
                            } finally {
                                hold.release(); // the run's sequences hold the adapter themselves now
                            }
                        });
                    }, ex.onContext());
                });
    }

    /** The calls the reply is held to, when the chat has tools (OpenaiRequests refuses them together with response_format). */
    private static ValidParameters withTools(ValidParameters p, OpenaiTools tools) {
        return tools.calls() ? p.withConstraint(tools.constraint()) : p;
    }

    /** The base model, the adapters registered by name, and those held, loading or preloaded, in OpenAI's list shape. */
    @Route(path = "/v1/models", methods = Route.HttpMethod.GET)
    @Operation(summary = "The base model and the adapters held, loading or preloaded")
    @APIResponse(responseCode = "200", description = "The models", content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = OpenaiWire.ModelList.class)))
    @APIResponse(responseCode = "503", ref = OpenapiDocument.OPENAI_ERROR)
    void models(RoutingContext rc) {
        HttpExchange ex = new HttpExchange(rc);
        try {
            ex.json(200, new OpenaiWire.ModelList("list", listed(host.runtime())));
        } catch (RuntimeException e) {
            OpenaiErrors.of(e, OpenaiErrors.Names.CHAT).send(ex);
        }
    }

    /** One entry of /v1/models: the base model by any of its names, or an adapter as listed. */
    @Route(path = "/v1/models/:id", methods = Route.HttpMethod.GET)
    @Operation(summary = "One model: the base model, or an adapter held, loading or preloaded")
    @Parameter(name = "id", in = ParameterIn.PATH, required = true, description = "the model's id; a `/` in it may be sent as is or as %2F")
    @APIResponse(responseCode = "200", description = "The model", content = @Content(mediaType = OpenapiDocument.JSON, schema = @Schema(implementation = OpenaiWire.Model.class)))
    @APIResponse(responseCode = "404", ref = OpenapiDocument.OPENAI_ERROR)
    @APIResponse(responseCode = "503", ref = OpenapiDocument.OPENAI_ERROR)
    void model(RoutingContext rc) {
        retrieve(rc, rc.pathParam("id"));
    }

    /** The same for ids with a '/' sent unescaped (org/adapter), as some clients send them. */
    @Route(regex = "/v1/models/(?<id>[^/]+/.+)", methods = Route.HttpMethod.GET)
    @Operation(hidden = true)
    void modelWithSlash(RoutingContext rc) {
        retrieve(rc, rc.pathParam("id"));
    }

    private void retrieve(RoutingContext rc, String id) {
        HttpExchange ex = new HttpExchange(rc);
        try {
            ModelRuntime rt = host.runtime();
            String name = host.servedModel().names(id) ? rt.modelId() : id;
            OpenaiWire.Model model = listed(rt).stream().filter(m -> m.id().equals(name)).findFirst()
                    .orElseThrow(() -> new AdapterNotFoundException("The model `" + id + "` does not exist"));
            ex.json(200, model);
        } catch (RuntimeException e) {
            OpenaiErrors.of(e, OpenaiErrors.Names.CHAT).send(ex);
        }
    }

    private List<OpenaiWire.Model> listed(ModelRuntime rt) {
        List<OpenaiWire.Model> data = new ArrayList<>();
        data.add(new OpenaiWire.Model(rt.modelId(), "model", started, "loraxj", null));
        Set<String> ids = new LinkedHashSet<>();
        rt.runtimeAdapters().list().forEach(r -> ids.add(r.name())); // vLLM lists a loaded adapter by its lora_name
        // merges are left out: `model` names one adapter, so a merge is nothing a client could ask for by name
        rt.adapters().list().forEach(a -> {
            if (a.key() instanceof AdapterRef ref) {
                ids.add(ref.id());
            }
        });
        ids.remove(rt.modelId());
        ids.forEach(id -> data.add(new OpenaiWire.Model(id, "model", started, "loraxj", rt.modelId())));
        return data;
    }
}
