package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.vertx.web.Body;
import io.quarkus.vertx.web.Route;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;

import static dev.loraxj.api.RawHttp.ascii;
import static dev.loraxj.api.RawHttp.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
    /** quarkus.http.limits.max-body-size's default. */
    static final int BODY_LIMIT = 2 * 1024 * 1024;

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

    @ParameterizedTest
    @MethodSource("toolCallsOfTheWrongShape")
    void toolCallsThatAreNotAnArrayAre400(String toolCalls) {
        RawHttp.Reply r = http.send(RawHttp.json("/v1/chat/completions",
                "{\"max_tokens\":1,\"messages\":[{\"role\":\"assistant\",\"content\":\"x\",\"tool_calls\":" + toolCalls + "}]}"));
        String message = assertError(r, "/v1/chat/completions", 400);
        assertTrue(message.contains("tool_calls"), message);
    }

    static Stream<String> toolCallsOfTheWrongShape() {
        return Stream.of("{}", "5", "\"x\"", "true");
    }

    // 2. Bodies that are not valid UTF-8, or that escape a lone surrogate.

    static Stream<Arguments> invalidText() {
        byte[][] raw = {
                {(byte) 0xC0, (byte) 0x80},             // overlong NUL
                {(byte) 0xE0, (byte) 0x80, (byte) 0xAF}, // overlong '/'
                {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, // an encoded surrogate (CESU)
                {(byte) 0xFF},
                {(byte) 0x80},                           // a lone continuation byte
                {(byte) 0xE2, (byte) 0x82},              // truncated
                {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // above U+10FFFF
                {0},                                     // a raw NUL
        };
        List<Arguments> out = new ArrayList<>();
        for (String path : List.of("/generate", "/tokenize", "/v1/completions", "/v1/chat/completions")) {
            for (byte[] b : raw) {
                out.add(Arguments.of(path, concat(ascii(prefix(path)), b, ascii(suffix(path))), "UTF-8"));
            }
            for (String escape : List.of("\\ud800", "\\udc00", "\\ud800x", "\\ud800\\u0041", "\\udbff\\udbff", "x\\ude00")) {
                out.add(Arguments.of(path, ascii(prefix(path) + escape + suffix(path)), "surrogate"));
            }
            out.add(Arguments.of(path, ascii("{\"\\ud800\":1," + prefix(path).substring(1) + "x" + suffix(path)), "surrogate"));
            out.add(Arguments.of(path, (prefix(path) + "x" + suffix(path)).getBytes(StandardCharsets.UTF_16LE), "UTF-8"));
        }
        return out.stream();
    }

    private static String prefix(String path) {
        return switch (path) {
            case "/v1/completions" -> "{\"max_tokens\":1,\"prompt\":\"";
            case "/v1/chat/completions" -> "{\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"";
            case "/generate" -> "{\"parameters\":{\"max_new_tokens\":1},\"inputs\":\"";
            default -> "{\"inputs\":\"";
        };
    }

    private static String suffix(String path) {
        return path.equals("/v1/chat/completions") ? "\"}]}" : "\"}";
    }

    @ParameterizedTest
    @MethodSource("invalidText")
    void invalidUtf8AndLoneSurrogatesAreRefused(String path, byte[] body, String named) {
        RawHttp.Reply r = http.send(RawHttp.post(path, "application/json", body));
        String message = assertError(r, path, 422, 400);
        assertTrue(message.contains(named), message);
    }

    @Test
    void validPairsAndFourByteCharactersStillWork() {
        for (String inputs : List.of("\\ud83d\\ude00", "😀", "\\u00e9t\\u00E9 \\\\ud800", "a\\\\", "\\u0000")) {
            RawHttp.Reply r = http.send(RawHttp.json("/tokenize", "{\"inputs\":\"" + inputs + "\"}"));
            assertEquals(200, r.status(), inputs + ": " + r.body());
        }
        RawHttp.Reply chat = http.send(RawHttp.json("/v1/chat/completions",
                "{\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"\\ud83d\\ude00 😀\"}]}"));
        assertEquals(200, chat.status(), chat.body());
    }

    // 3. Media types.

    static Stream<Arguments> refusedMediaTypes() {
        return jsonRoutes().flatMap(p -> Stream.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                "application/xml", "application/json; charset=latin1", "application/jsonx").map(t -> Arguments.of(p, t)));
    }

    @ParameterizedTest
    @MethodSource("refusedMediaTypes")
    void aBodyThatIsNotJsonIs415(String path, String contentType) {
        RawHttp.Reply r = http.send(RawHttp.post(path, contentType, ascii("{\"inputs\":\"x\",\"prompt\":\"x\"}")));
        String message = assertError(r, path, 415);
        assertTrue(message.contains("application/json"), message);
    }

    @Test
    void jsonMediaTypesAndNoneAreAccepted() {
        byte[] body = ascii("{\"inputs\":\"x\"}");
        for (String type : new String[] {"application/json", "application/json; charset=utf-8", "Application/JSON;Charset=\"UTF-8\"",
                "application/vnd.api+json", "application/problem+json; charset=UTF-8", null}) {
            RawHttp.Reply r = http.send(RawHttp.post("/tokenize", type, body));
            assertEquals(200, r.status(), type + ": " + r.body());
        }
    }

    @Test
    void aRefusedRequestLeavesTheConnectionServing() {
        String body = "{\"inputs\":\"x\"}";
        String keepAlive = "Host: 127.0.0.1\r\nContent-Length: " + body.length() + "\r\n";
        byte[] three = ascii("POST /tokenize HTTP/1.1\r\n" + keepAlive + "Content-Type: text/plain\r\n\r\n" + body
                + "POST /nope HTTP/1.1\r\n" + keepAlive + "Content-Type: application/json\r\n\r\n" + body
                + "POST /tokenize HTTP/1.1\r\n" + keepAlive + "Content-Type: application/json\r\n\r\n" + body);
        List<RawHttp.Reply> replies = http.sendPipelined(3, three);
        assertEquals(415, replies.get(0).status(), replies.get(0).body());
        assertEquals(404, replies.get(1).status(), replies.get(1).body());
        assertEquals(200, replies.get(2).status(), replies.get(2).body());
    }

    // 4. Bodies over the limit.

    @Test
    void aDeclaredLengthOverTheLimitIs413BeforeTheBodyIsSent() {
        for (String path : List.of("/generate", "/v1/completions")) {
            byte[] headersOnly = ascii("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + (BODY_LIMIT + 1) + "\r\n\r\n");
            RawHttp.Reply r = http.send(headersOnly);
            String message = assertError(r, path, 413);
            assertTrue(message.contains("2097152"), message);
            assertEquals("close", r.header("connection"), "the rest of the body is not read");
        }
    }

    @Test
    void aChunkedBodyOverTheLimitIs413() {
        for (String path : List.of("/generate_stream", "/v1/chat/completions")) {
            byte[] chunk = new byte[64 * 1024];
            java.util.Arrays.fill(chunk, (byte) ' ');
            byte[] framed = concat(ascii(Integer.toHexString(chunk.length) + "\r\n"), chunk, ascii("\r\n"));
            List<byte[]> parts = new ArrayList<>();
            parts.add(ascii("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
            // nothing follows the chunk that crosses the limit, so the server has read all it was sent when it closes
            for (int sent = 0; sent <= BODY_LIMIT; sent += chunk.length) {
                parts.add(framed);
            }
            RawHttp.Reply r = http.send(concat(parts.toArray(byte[][]::new)));
            assertError(r, path, 413);
        }
    }

    @Test
    void aBodyAtTheLimitIsRead() {
        String json = "{\"inputs\":\"x\"}";
        byte[] body = (" ".repeat(BODY_LIMIT - json.length()) + json).getBytes(StandardCharsets.UTF_8);
        RawHttp.Reply r = http.send(RawHttp.post("/tokenize", "application/json", body));
        assertEquals(200, r.status(), r.body());
    }

    // 5. Broken framing.

    @Test
    void aMalformedChunkIs400() {
        for (String path : List.of("/generate", "/v1/completions")) {
            byte[] request = ascii("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{\"inputs\":\"x\"}\r\n0\r\n\r\n");
            assertError(http.send(request), path, 400);
            // the bad chunk in a later read than the headers, once the route is reading the body
            byte[] head = ascii("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"in\"\r\n");
            assertError(http.sendInParts(head, ascii("zz\r\n")), path, 400);
        }
    }

    @Test
    void aRequestWithoutHostIs400() {
        for (String path : List.of("/tokenize", "/v1/chat/completions")) {
            RawHttp.Reply r = http.send(ascii("POST " + path + " HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"));
            String message = assertError(r, path, 400);
            assertTrue(message.contains("Host"), message);
        }
    }

    // 6. Client mistakes are not server errors in the log; server errors still are.

    /** Records what reaches the root logger at ERROR (SEVERE) or above while it is open. */
    static final class ErrorLog extends Handler implements AutoCloseable {
        final List<String> errors = Collections.synchronizedList(new ArrayList<>());

        ErrorLog() {
            Logger.getLogger("").addHandler(this);
        }

        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.SEVERE.intValue()) {
                errors.add(r.getLoggerName() + ": " + r.getMessage() + (r.getThrown() == null ? "" : " / " + r.getThrown()));
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            Logger.getLogger("").removeHandler(this);
        }
    }

    /** A route that fails as a bug would, to show that genuine failures still reach the error log. */
    @ApplicationScoped
    static class FailingRoute {
        @Route(path = "/test/fails", methods = Route.HttpMethod.POST)
        void fails(RoutingContext rc, @Body Buffer body) {
            throw new IllegalStateException("a bug");
        }
    }

    @Test
    void hostileClientsLeaveNoErrorInTheLog() throws Exception {
        try (ErrorLog log = new ErrorLog()) {
            String head = "POST /generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
            List<byte[]> corpus = List.of(
                    ascii(head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
                    ascii(head + "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"inp\r\n-1\r\n\r\n"),
                    ascii(head + "Transfer-Encoding: chunked\r\n\r\n4\r\n{\"inputs\":\"x\"}\r\n0\r\n\r\n"),
                    ascii(head + "Content-Length: 100\r\n\r\n{\"inputs\""),      // the client hangs up mid-body
                    ascii(head + "Transfer-Encoding: chunked\r\n\r\n10\r\n{\"inpu"),  // mid-chunk
                    ascii("POST /generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\n\r\n{}"),
                    ascii("POST /generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"),
                    ascii("POST /generate HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n"),
                    ascii("GARBAGE\r\n\r\n"),
                    ascii("POST /generate HTTP/9.9\r\n\r\n"));
            for (boolean reset : new boolean[] {false, true}) {
                for (byte[] request : corpus) {
                    try (java.net.Socket s = new java.net.Socket("127.0.0.1", base.getPort())) {
                        s.setSoTimeout(2000);
                        s.getOutputStream().write(request);
                        s.getOutputStream().flush();
                        if (reset) {
                            s.setSoLinger(true, 0); // close() sends RST
                            continue;
                        }
                        s.shutdownOutput();
                        s.getInputStream().readAllBytes();
                    } catch (java.io.IOException expected) {
                        // a reset or a timeout: the server may close or wait
                    }
                }
            }
            for (String path : List.of("/v1/completions", "/generate_stream")) {
                http.send(ascii("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n"));
                http.send(RawHttp.post(path, "text/plain", ascii("{}")));
                http.send(ascii("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999\r\n\r\n"));
                http.send(RawHttp.json(path + "/x", "{}"));
                http.send(RawHttp.json(path, "null"));
            }
            // the server keeps serving, and whatever it logged about those clients arrives before this answer
            assertEquals(200, http.send(RawHttp.json("/tokenize", "{\"inputs\":\"x\"}")).status());
            Thread.sleep(200);
            assertTrue(log.errors.isEmpty(), "logged as errors: " + log.errors);
        }
    }

    @Test
    void aGenuineFailureIsStillLoggedAsAnError() throws Exception {
        try (ErrorLog log = new ErrorLog()) {
            assertEquals(500, http.send(RawHttp.json("/test/fails", "{}")).status());
            Thread.sleep(200);
            assertTrue(log.errors.stream().anyMatch(e -> e.contains("a bug")), "logged: " + log.errors);
        }
    }

    // 7. Unknown paths and wrong methods.

    static Stream<Arguments> unknownRoutes() {
        return Stream.of(
                Arguments.of("POST", "/nope", 404),
                Arguments.of("GET", "/nope", 404),
                Arguments.of("POST", "/v1/nope", 404),
                Arguments.of("GET", "/v1/embeddings", 404),
                Arguments.of("GET", "/generate", 405),
                Arguments.of("PUT", "/tokenize", 405),
                Arguments.of("DELETE", "/generate_stream", 405),
                Arguments.of("GET", "/v1/chat/completions", 405),
                Arguments.of("GET", "/v1/completions", 405),
                Arguments.of("POST", "/v1/models", 405),
                Arguments.of("DELETE", "/v1/models/stories260K", 405),
                Arguments.of("GET", "/docs/nope.js", 404));
    }

    @ParameterizedTest
    @MethodSource("unknownRoutes")
    void unknownPathsAndWrongMethodsAnswerJson(String method, String path, int status) {
        RawHttp.Reply r = http.send(RawHttp.request(method, path, "application/json", ascii("{}")));
        assertTrue(r.header("content-type") != null && r.header("content-type").startsWith("application/json"), r.headers().toString());
        String message = assertError(r, path, status);
        assertTrue(message.contains(path), message);
        if (status == 405) {
            assertNotNull(r.header("allow"), r.headers().toString());
        }
    }

    @Test
    void knownGetRoutesStillAnswer() {
        for (String path : List.of("/info", "/v1/models", "/metrics", "/q/health/ready", "/q/openapi", "/docs/", "/v1/models/stories260K")) {
            RawHttp.Reply r = http.send(RawHttp.request("GET", path, null, new byte[0]));
            assertEquals(200, r.status(), path + ": " + r.body());
        }
        assertFalse(http.send(RawHttp.request("GET", "/info", null, new byte[0])).body().isEmpty());
    }
}
