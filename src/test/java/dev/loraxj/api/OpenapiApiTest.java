package dev.loraxj.api;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import dev.loraxj.service.GenerateParameters;
import dev.loraxj.service.LoraxRequest;
import dev.loraxj.service.MergedAdapters;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.vertx.web.Route;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.net.URI;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenAPI document at /q/openapi, Swagger UI at /docs, and GET /v1/models/{id}. */
@QuarkusTest
class OpenapiApiTest {

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    JsonNode document() {
        TestClient.Reply r = client.get("/q/openapi?format=json");
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    /** Every route the route classes declare, as "METHOD /path" with {param} for :param. */
    static Set<String> declaredRoutes() {
        Set<String> out = new TreeSet<>();
        for (Class<?> c : new Class<?>[]{GenerateRoutes.class, ServerRoutes.class, OpenaiRoutes.class}) {
            for (Method m : c.getDeclaredMethods()) {
                Route r = m.getAnnotation(Route.class);
                Operation op = m.getAnnotation(Operation.class);
                if (r == null || op != null && op.hidden()) {
                    continue;
                }
                for (Route.HttpMethod method : r.methods()) {
                    out.add(method.name() + " " + r.path().replaceAll(":(\\w+)", "{$1}"));
                }
            }
        }
        return out;
    }

    @Test
    void everyRouteIsDocumentedWithItsBodyAndAnswers() {
        JsonNode doc = document();
        Set<String> documented = new TreeSet<>();
        doc.path("paths").fields().forEachRemaining(p -> p.getValue().fieldNames()
                .forEachRemaining(m -> documented.add(m.toUpperCase(Locale.ROOT) + " " + p.getKey())));
        Set<String> declared = declaredRoutes();
        assertEquals(11, declared.size(), declared.toString());
        assertTrue(documented.containsAll(declared), "undocumented: " + declared.stream().filter(r -> !documented.contains(r)).toList());
        JsonNode schemas = doc.path("components").path("schemas");
        for (String route : declared) {
            String[] mp = route.split(" ");
            JsonNode op = doc.path("paths").path(mp[1]).path(mp[0].toLowerCase(Locale.ROOT));
            assertFalse(op.path("summary").asText().isEmpty(), route);
            assertEquals(1, op.path("tags").size(), route);
            if (mp[0].equals("POST")) {
                String ref = op.path("requestBody").path("content").path("application/json").path("schema").path("$ref").asText();
                assertTrue(schemas.has(ref.replace("#/components/schemas/", "")), route + " body " + ref);
            }
            JsonNode ok = op.path("responses").path("200");
            assertFalse(ok.path("description").asText().isEmpty(), route);
            if (!route.equals("GET /health")) {
                assertTrue(ok.path("content").size() > 0, route + " documents what it answers");
            }
            Iterator<Map.Entry<String, JsonNode>> responses = op.path("responses").fields();
            responses.forEachRemaining(e -> {
                String ref = e.getValue().path("$ref").asText();
                if (!ref.isEmpty()) {
                    assertTrue(doc.path("components").path("responses").has(ref.replace("#/components/responses/", "")), route + " " + ref);
                }
            });
        }
    }

    @Test
    void schemasNameTheFieldsAsTheWireDoes() {
        JsonNode schemas = document().path("components").path("schemas");
        Class<?>[] types = {LoraxRequest.class, GenerateParameters.class, MergedAdapters.class, Wire.GenerateResponse.class,
                Wire.Details.class, Wire.Token.class, Wire.StreamResponse.class, ServerRoutes.Info.class, ServerRoutes.AdapterList.class,
                ServerRoutes.TokenizeRequest.class, ErrorResponse.class, OpenaiWire.ChatRequest.class, OpenaiWire.ChatMessage.class,
                OpenaiWire.CompletionRequest.class, OpenaiWire.Completion.class, OpenaiWire.ChatCompletion.class,
                OpenaiWire.ChatChunk.class, OpenaiWire.Model.class, OpenaiWire.ModelList.class, OpenaiWire.ErrorBody.class,
                OpenaiWire.ErrorDetail.class, OpenaiWire.CompletionLogprobs.class};
        for (Class<?> type : types) {
            // the names the server's own mapper reads and writes
            BeanDescription bean = Json.MAPPER.getSerializationConfig().introspect(Json.MAPPER.constructType(type));
            Set<String> wire = new TreeSet<>();
            for (BeanPropertyDefinition p : bean.findProperties()) {
                wire.add(p.getName());
            }
            Set<String> documented = new TreeSet<>();
            schemas.path(type.getSimpleName()).path("properties").fieldNames().forEachRemaining(documented::add);
            assertEquals(wire, documented, type.getName());
        }
        assertTrue(wireNames(GenerateParameters.class).contains("return_k_alternatives"));
    }

    static Set<String> wireNames(Class<?> type) {
        Set<String> out = new TreeSet<>();
        Json.MAPPER.getSerializationConfig().introspect(Json.MAPPER.constructType(type)).findProperties().forEach(p -> out.add(p.getName()));
        return out;
    }

    @Test
    void swaggerUiIsAtDocs() {
        TestClient.Reply redirect = client.get("/docs");
        assertTrue(redirect.status() == 200 || redirect.status() / 100 == 3, redirect.status() + " " + redirect.body());
        TestClient.Reply ui = client.get("/docs/");
        assertEquals(200, ui.status());
        assertTrue(ui.headers().firstValue("content-type").orElse("").startsWith("text/html"), ui.headers().map().toString());
        assertTrue(ui.body().contains("/q/openapi"), "the UI reads the document at /q/openapi");
        assertEquals(200, client.get("/q/openapi").status(), "YAML by default");
    }

    @Test
    void aModelIsRetrievedByAnyOfItsNames() {
        String modelId = ConfigProvider.getConfig().getValue("loraxj.model-id", String.class);
        for (String id : new String[]{"stories260K", java.net.URLEncoder.encode(modelId, java.nio.charset.StandardCharsets.UTF_8)}) {
            TestClient.Reply r = client.get("/v1/models/" + id);
            assertEquals(200, r.status(), id + ": " + r.body());
            assertEquals("stories260K", r.json().path("id").asText());
            assertEquals("model", r.json().path("object").asText());
            assertTrue(r.json().path("parent").isMissingNode(), "the base model has no parent");
        }
    }

    @Test
    void anAdapterIsRetrievedOnceListedWithASlashEscapedOrNot() {
        String adapter = "stories260K/lora-name-sue";
        assertEquals(200, client.post("/v1/completions", "{\"model\":\"" + adapter + "\",\"prompt\":\"a\",\"max_tokens\":1}").status());
        JsonNode listed = null;
        for (JsonNode m : client.get("/v1/models").json().path("data")) {
            if (m.path("id").asText().equals(adapter)) {
                listed = m;
            }
        }
        assertTrue(listed != null, "listed by /v1/models");
        for (String path : new String[]{"/v1/models/stories260K%2Flora-name-sue", "/v1/models/" + adapter}) {
            TestClient.Reply r = client.get(path);
            assertEquals(200, r.status(), path + ": " + r.body());
            assertEquals(listed, r.json(), "the same entry as in the list");
        }
    }

    @Test
    void anUnknownModelIs404InOpenaisShape() {
        for (String path : new String[]{"/v1/models/no-such-model", "/v1/models/no/such/model"}) {
            TestClient.Reply r = client.get(path);
            assertEquals(404, r.status(), r.body());
            JsonNode error = r.json().path("error");
            assertEquals("invalid_request_error", error.path("type").asText(), r.body());
            assertEquals("model_not_found", error.path("code").asText(), r.body());
            assertEquals("model", error.path("param").asText(), r.body());
            assertTrue(error.path("message").asText().contains(path.substring("/v1/models/".length())), r.body());
        }
    }
}
