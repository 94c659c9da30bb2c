package dev.loraxj.api;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.loraxj.TestFiles;
import dev.loraxj.hub.FakeHubResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Server API keys: every route but the open ones refuses a request without one, both headers
 * carry one, the OpenAI SDK's apiKey works, and private-adapter tokens then come only from
 * {@code parameters.api_token} or {@code x-adapter-token} (a fake private Hub on 127.0.0.1).
 */
@QuarkusTest
@TestProfile(ApiKeyAuthApiTest.Keyed.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApiKeyAuthApiTest {

    static final String KEY = "lx-key-A_5e1f0c93d7";
    static final String FILE_KEY = "lx-filekey-B_9d2a61c4";
    static final String PROMPT = "Once upon a time, there was a little girl";

    public static class Keyed implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.auth.api-keys", KEY, "loraxj.auth.api-keys-file", keysFile().toString());
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FakeHubResource.class));
        }
    }

    static Path keysFile() {
        try {
            Path f = TestFiles.file("loraxj-api-keys", ".txt");
            return Files.writeString(f, "# mounted from a Secret\n\n  " + FILE_KEY + "  \n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Keeps the application's router, so the test walks the routes the server really has. */
    @ApplicationScoped
    public static class Routes {
        static volatile Router router;

        void capture(@Observes Router r) {
            router = r;
        }
    }

    @TestHTTPResource("/")
    URI base;
    TestClient client;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady(); // /q/health/ready is open
    }

    TestClient.Reply send(String method, String path, String body, String... headers) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            if (body != null) {
                b.header("Content-Type", "application/json");
            }
            for (int i = 0; i < headers.length; i += 2) {
                b.header(headers[i], headers[i + 1]);
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new TestClient.Reply(r.statusCode(), r.body(), r.headers());
        } catch (Exception e) {
            throw new AssertionError(method + " " + path, e);
        }
    }

    static String generate(String adapter, String extra) {
        return "{\"inputs\":\"" + PROMPT + "\",\"parameters\":{\"max_new_tokens\":4" + (adapter == null ? "" : ",\"adapter_id\":\"" + adapter + "\"") + extra + "}}";
    }

    /** Every path the router serves, as "METHOD /path", with path parameters filled in. */
    static Set<String> routes() {
        Set<String> out = new TreeSet<>();
        for (io.vertx.ext.web.Route r : Routes.router.getRoutes()) {
            String path = r.getPath();
            if (path == null) {
                continue; // catch-alls (the gates) and the one regex route, covered by /v1/models/a/b below
            }
            path = path.replaceAll(":\\w+", "x").replaceAll("\\*$", "");
            Set<HttpMethod> methods = r.methods() == null || r.methods().isEmpty() ? Set.of(HttpMethod.GET) : r.methods();
            for (HttpMethod m : methods) {
                out.add(m.name() + " " + path);
            }
        }
        if (out.remove("GET /q/")) {
            // Quarkus mounts its own endpoints on a sub-router under /q, which Router.getRoutes() does not list
            out.addAll(List.of("GET /q/health", "GET /q/health/live", "GET /q/health/ready", "GET /q/health/started", "GET /q/openapi"));
        }
        out.add("GET /v1/models/org/adapter");
        out.add("GET /no-such-route");
        return out;
    }

    static boolean open(String path) {
        String p = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        return p.equals("/health") || p.equals("/info") || p.equals("/metrics") || p.equals("/q/health") || p.startsWith("/q/health/");
    }

    @Test
    @Order(0)
    void everyRouteButTheOpenOnesRefusesARequestWithoutAKey() {
        Set<String> routes = routes();
        for (String expected : List.of("POST /generate", "POST /generate_stream", "POST /", "POST /tokenize", "GET /adapters",
                "GET /info", "GET /health", "POST /v1/completions", "POST /v1/chat/completions", "GET /v1/models", "GET /v1/models/x",
                "GET /metrics", "GET /q/health/ready", "GET /q/openapi")) {
            assertTrue(routes.contains(expected), expected + " is among the router's routes: " + routes);
        }
        int refused = 0;
        for (String route : routes) {
            String method = route.substring(0, route.indexOf(' '));
            String path = route.substring(route.indexOf(' ') + 1);
            String body = method.equals("POST") ? generate(null, "") : null;
            TestClient.Reply none = send(method, path, body);
            TestClient.Reply wrong = send(method, path, body, "Authorization", "Bearer not-" + KEY);
            if (open(path)) {
                assertNotEquals(401, none.status(), route + " is open: " + none.body());
                continue;
            }
            for (TestClient.Reply r : List.of(none, wrong, send(method, path, body, "x-api-key", KEY + "x"))) {
                assertEquals(401, r.status(), route + ": " + r.body());
                assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"), route);
                if (path.startsWith("/v1")) {
                    assertEquals("authentication_error", r.json().path("error").path("type").asText(), route + ": " + r.body());
                    assertEquals("invalid_api_key", r.json().path("error").path("code").asText(), route + ": " + r.body());
                    assertFalse(r.json().path("error").path("message").asText().isEmpty(), route);
                } else {
                    assertEquals("unauthorized", r.json().path("error_type").asText(), route + ": " + r.body());
                    assertFalse(r.json().path("error").asText().isEmpty(), route);
                }
                assertFalse(r.body().contains(KEY), "the key is never echoed");
            }
            refused++;
        }
        assertTrue(refused >= 12, "refused " + refused + " of " + routes);
        String metrics = send("GET", "/metrics", null).body();
        assertFalse(metrics.contains("uri=\"/no-such-route\""), "a refused path is no metric series of its own");
    }

    @Test
    @Order(1)
    void aGenerationWorksWithTheKeyInEitherHeader() {
        TestClient.Reply bearer = send("POST", "/generate", generate(null, ""), "Authorization", "Bearer " + KEY);
        assertEquals(200, bearer.status(), bearer.body());
        TestClient.Reply apiKey = send("POST", "/generate", generate(null, ""), "x-api-key", FILE_KEY);
        assertEquals(200, apiKey.status(), "a key from the file: " + apiKey.body());
        assertEquals(bearer.json().path("generated_text").asText(), apiKey.json().path("generated_text").asText());
        TestClient.Reply stream = send("POST", "/generate_stream", generate(null, ""), "Authorization", "bearer " + FILE_KEY);
        assertEquals(200, stream.status(), stream.body());
        assertEquals(200, send("POST", "/tokenize", "{\"inputs\":\"hi\"}", "x-api-key", KEY).status());
        assertEquals(200, send("GET", "/adapters", null, "x-api-key", KEY).status());
    }

    @Test
    @Order(2)
    void theOpenaiSdkWorksWithItsApiKey() {
        ChatCompletionCreateParams chat = ChatCompletionCreateParams.builder().model("stories260K")
                .addUserMessage(PROMPT).maxCompletionTokens(4).temperature(0.0).build();
        OpenAIClient openai = OpenAIOkHttpClient.builder().baseUrl(base + "v1").apiKey(KEY).maxRetries(0).build();
        OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl(base + "v1").apiKey("sk-not-a-key").maxRetries(0).build();
        try {
            ChatCompletion c = openai.chat().completions().create(chat);
            assertFalse(c.choices().getFirst().message().content().orElseThrow().isEmpty());
            assertFalse(openai.models().list().data().isEmpty());
            UnauthorizedException e = assertThrows(UnauthorizedException.class, () -> wrong.chat().completions().create(chat));
            assertEquals(401, e.statusCode());
        } finally {
            openai.close();
            wrong.close();
        }
    }

    @Test
    @Order(3)
    void adapterTokensComeFromXAdapterTokenOrApiTokenNeverFromAuthorization() {
        String sue = generate("test-org/private-sue", "");
        // Authorization is the server's: a Hub token there is no server key
        assertEquals(401, send("POST", "/generate", sue, "Authorization", "Bearer " + FakeHubResource.GOOD).status());
        FakeHubResource.hub.clear();
        TestClient.Reply keyOnly = send("POST", "/generate", sue, "Authorization", "Bearer " + KEY);
        assertEquals(401, keyOnly.status(), "the server key is not lent to the adapter check: " + keyOnly.body());
        assertEquals("unauthorized", keyOnly.json().path("error_type").asText());
        assertTrue(keyOnly.json().path("error").asText().contains("token"), keyOnly.body());
        TestClient.Reply both = send("POST", "/generate", sue, "x-api-key", KEY, "Authorization", "Bearer " + FakeHubResource.GOOD);
        assertEquals(401, both.status(), "with server auth on, Authorization never reaches the adapter check: " + both.body());

        TestClient.Reply good = send("POST", "/generate", sue, "Authorization", "Bearer " + KEY, "x-adapter-token", FakeHubResource.GOOD);
        assertEquals(200, good.status(), good.body());
        assertTrue(good.json().path("generated_text").asText().startsWith(" named Sue"), good.body());
        TestClient.Reply wrong = send("POST", "/generate", sue, "x-api-key", KEY, "x-adapter-token", FakeHubResource.WRONG);
        assertEquals(403, wrong.status(), wrong.body());
        TestClient.Reply param = send("POST", "/generate", generate("test-org/private-sue", ",\"api_token\":\"" + FakeHubResource.GOOD + "\""),
                "x-api-key", KEY);
        assertEquals(200, param.status(), param.body());

        String chat = "{\"model\":\"test-org/private-sue\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT + "\"}]}";
        assertEquals(401, send("POST", "/v1/chat/completions", chat, "Authorization", "Bearer " + KEY).status());
        TestClient.Reply chatGood = send("POST", "/v1/chat/completions", chat, "Authorization", "Bearer " + KEY, "x-adapter-token", FakeHubResource.GOOD);
        assertEquals(200, chatGood.status(), chatGood.body());
    }

    @Test
    @Order(100)
    void noKeyOrTokenAppearsInTheLogOrTheMetrics() throws Exception {
        String logged = Files.readString(FakeHubResource.log);
        assertTrue(logged.contains("server authentication is on: 2 API key(s)"), "the log file captured the run");
        String metrics = send("GET", "/metrics", null).body();
        for (String secret : List.of(KEY, FILE_KEY, FakeHubResource.GOOD, FakeHubResource.WRONG)) {
            assertFalse(logged.contains(secret), "a key or token leaked into the log");
            assertFalse(metrics.contains(secret), "a key or token leaked into the metrics");
        }
    }
}
