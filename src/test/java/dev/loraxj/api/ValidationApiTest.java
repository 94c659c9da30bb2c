package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every validation case answers 422 naming the field, and the server keeps serving. */
@QuarkusTest
class ValidationApiTest {

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static Stream<Arguments> badRequests() {
        String longInput = "the dog ran ".repeat(200);
        return Stream.of(
                Arguments.of("/generate", "{\"inputs\":\"\"}", "inputs"),
                Arguments.of("/generate", "{\"parameters\":{}}", "inputs"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":0}}", "max_new_tokens"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":-3}}", "max_new_tokens"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":100000}}", "max_new_tokens"),
                Arguments.of("/generate", "{\"inputs\":\"" + longInput + "\",\"parameters\":{\"max_new_tokens\":1}}", "inputs"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"temperature\":0}}", "temperature"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"temperature\":-1,\"do_sample\":true}}", "temperature"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"top_p\":0}}", "top_p"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"top_p\":1.5}}", "top_p"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"top_k\":-1}}", "top_k"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"typical_p\":0}}", "typical_p"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"repetition_penalty\":0}}", "repetition_penalty"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"frequency_penalty\":3}}", "frequency_penalty"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"truncate\":0}}", "truncate"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}}", "stop"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"best_of\":2}}", "best_of"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"best_of\":9,\"do_sample\":true}}", "best_of"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"best_of\":2,\"do_sample\":true,\"seed\":3}}", "seed"),
                Arguments.of("/generate_stream", "{\"inputs\":\"hi\",\"parameters\":{\"decoder_input_details\":true}}", "decoder_input_details"),
                Arguments.of("/generate_stream", "{\"inputs\":\"hi\",\"parameters\":{\"best_of\":2,\"do_sample\":true}}", "best_of"),
                Arguments.of("/generate", "{\"inputs\":5}", "inputs"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":\"5\"}}", "parameters.max_new_tokens"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":2.5}}", "parameters.max_new_tokens"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"temperature\":\"hot\"}}", "parameters.temperature"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"do_sample\":1}}", "parameters.do_sample"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"stop\":\"x\"}}", "parameters.stop"),
                Arguments.of("/generate", "{\"inputs\":\"hi\",\"parameters\":[]}", "parameters"),
                Arguments.of("/generate", "{\"inputs\":\"hi\"", "JSON"),
                Arguments.of("/generate", "[1,2]", "JSON object"),
                Arguments.of("/", "{\"inputs\":\"hi\",\"stream\":\"yes\"}", "stream"),
                Arguments.of("/tokenize", "{\"inputs\":7}", "inputs"));
    }

    @ParameterizedTest
    @MethodSource("badRequests")
    void badInputAnswers422NamingTheField(String path, String body, String field) {
        TestClient.Reply r = client.post(path, body);
        assertEquals(422, r.status(), r.body());
        JsonNode err = r.json();
        assertEquals("validation", err.path("error_type").asText());
        assertTrue(err.path("error").asText().contains(field), "message should name " + field + ": " + err.path("error").asText());
        TestClient.Reply ok = client.post("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":2}}");
        assertEquals(200, ok.status(), "the server keeps serving after a bad request");
    }
}
