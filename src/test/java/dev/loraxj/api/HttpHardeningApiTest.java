package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile and odd HTTP input: every request is answered at once, with the status and error shape of
 * its route's family (LoRAX's {"error","error_type"}; OpenAI's {"error":{...}} under /v1), never a
 * 500, a hang, an HTML page or an empty body; and client mistakes are not logged as server errors.
 */
@QuarkusTest
@TestProfile(OpenaiProfile.class)
class HttpHardeningApiTest {

    static final List<String> LORAX_JSON_ROUTES = List.of("/generate", "/generate_stream", "/", "/tokenize");
    static final List<String> OPENAI_JSON_ROUTES = List.of("/v1/completions", "/v1/chat/completions");

    @TestHTTPResource("/")
    URI base;
    RawHttp http;

    @BeforeEach
    void ready() {
        new TestClient(base).awaitReady();
        http = new RawHttp(base);
    }

    static boolean openai(String path) {
        return path.startsWith("/v1/");
    }

    /** The status and the route family's error shape; returns the message. */
    static String assertError(RawHttp.Reply r, String path, int loraxStatus, int openaiStatus) {
        JsonNode body = r.json();
        if (openai(path)) {
            assertEquals(openaiStatus, r.status(), r.body());
            assertTrue(body.path("error").isObject(), "OpenAI's error shape: " + r.body());
            assertTrue(body.path("error").path("message").isTextual(), r.body());
            assertTrue(body.path("error").path("type").isTextual(), r.body());
            assertTrue(body.path("error").has("param") && body.path("error").has("code"), r.body());
            return body.path("error").path("message").asText();
        }
        assertEquals(loraxStatus, r.status(), r.body());
        assertTrue(body.path("error").isTextual(), "LoRAX's error shape: " + r.body());
        assertTrue(body.path("error_type").isTextual(), r.body());
        return body.path("error").asText();
    }

    static String assertError(RawHttp.Reply r, String path, int status) {
        return assertError(r, path, status, status);
    }

    static Stream<String> jsonRoutes() {
        return Stream.concat(LORAX_JSON_ROUTES.stream(), OPENAI_JSON_ROUTES.stream());
    }

    static Stream<Arguments> routesAndNonObjects() {
        return jsonRoutes().flatMap(p -> Stream.of("null", "[]", "\"text\"", "42", "true", " null ", "[null]", "{}[]")
                .map(b -> Arguments.of(p, b)));
    }

    // 1. Bodies that are JSON but not an object, and null where an object belongs.

    @ParameterizedTest
    @MethodSource("routesAndNonObjects")
    void aBodyThatIsNotAnObjectIsAnsweredAtOnce(String path, String body) {
        RawHttp.Reply r = http.send(RawHttp.json(path, body));
        String message = assertError(r, path, 422, 400);
        assertTrue(message.contains("JSON"), message);
    }

    static Stream<Arguments> nestedNulls() {
        return Stream.of(
                Arguments.of("/generate", "{\"inputs\":\"x\",\"parameters\":null}", 200),
                Arguments.of("/generate_stream", "{\"inputs\":\"x\",\"parameters\":null}", 200),
                Arguments.of("/", "{\"inputs\":\"x\",\"parameters\":null,\"stream\":null}", 200),
                Arguments.of("/generate", "{\"inputs\":null,\"parameters\":{\"max_new_tokens\":2}}", 422),
                Arguments.of("/generate", "{\"inputs\":\"x\",\"parameters\":{\"max_new_tokens\":2,\"stop\":null,\"merged_adapters\":null,"
                        + "\"logit_bias\":null,\"seed\":null,\"adapter_id\":null,\"adapter_source\":null,\"response_format\":null}}", 200),
                Arguments.of("/generate", "{\"inputs\":\"x\",\"parameters\":{\"stop\":[null]}}", 422),
                Arguments.of("/generate", "{\"inputs\":\"x\",\"parameters\":{\"merged_adapters\":{\"ids\":null}}}", 422),
                Arguments.of("/generate", "{\"inputs\":\"x\",\"parameters\":{\"merged_adapters\":{\"ids\":[null]}}}", 422),
                Arguments.of("/generate", "{\"inputs\":\"x\",\"parameters\":{\"merged_adapters\":{\"ids\":[\"a\"],\"weights\":[null]}}}", 422),
                Arguments.of("/generate", "{\"inputs\":\"x\",\"parameters\":{\"logit_bias\":{\"1\":null}}}", 422),
                Arguments.of("/tokenize", "{\"inputs\":null}", 422),
                Arguments.of("/tokenize", "{\"inputs\":\"x\",\"add_special_tokens\":null}", 200),
                Arguments.of("/v1/completions", "{\"prompt\":null}", 400),
                Arguments.of("/v1/completions", "{\"model\":\"\",\"prompt\":[null]}", 400),
                Arguments.of("/v1/completions", "{\"prompt\":\"x\",\"stop\":[null]}", 400),
                Arguments.of("/v1/completions", "{\"prompt\":\"x\",\"logit_bias\":{\"1\":null}}", 400),
                Arguments.of("/v1/completions", "{\"model\":null,\"prompt\":\"x\",\"max_tokens\":2,\"stop\":null,\"stream_options\":null,"
                        + "\"logit_bias\":null,\"n\":null,\"suffix\":null}", 200),
                Arguments.of("/v1/chat/completions", "{\"model\":\"\",\"messages\":[null]}", 400),
                Arguments.of("/v1/chat/completions", "{\"messages\":null}", 400),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":null,\"content\":\"x\"}]}", 400),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[null]}]}", 400),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":null}]}]}", 400),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":null}],\"max_tokens\":2}", 400),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"name\":null,\"tool_calls\":null}],"
                        + "\"max_tokens\":2,\"response_format\":null,\"tools\":null,\"stream_options\":null,\"stop\":null}", 200));
    }

    @ParameterizedTest
    @MethodSource("nestedNulls")
    void nullWhereAValueBelongsIsADefaultOrAClearError(String path, String body, int status) {
        RawHttp.Reply r = http.send(RawHttp.json(path, body));
        if (status == 200) {
            assertEquals(200, r.status(), r.body());
        } else {
            assertError(r, path, status);
        }
    }
}
