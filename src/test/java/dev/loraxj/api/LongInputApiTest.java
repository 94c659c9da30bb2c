package dev.loraxj.api;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A long input costs what can matter: it is refused from its length, or only its tail is tokenized. */
@QuarkusTest
class LongInputApiTest {

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static final String MEGABYTE = "Once upon a time, there was a little girl. ".repeat(24_000);

    /** The cap of /tokenize: the KV cache's size, as /info reports it. */
    int cacheTokens() {
        return client.get("/info").json().path("max_batch_total_tokens").asInt();
    }

    @Test
    void tokenizeRefusesWhatNoContextHoldsWithASmallAnswer() {
        TestClient.Reply r = client.post("/tokenize", "{\"inputs\":" + GenerateApiTest.quote(MEGABYTE) + "}");
        assertEquals(422, r.status(), r.body().length() > 300 ? r.body().substring(0, 300) : r.body());
        assertTrue(r.body().length() < 400, "a short error, not a token list: " + r.body().length() + " bytes");
        assertTrue(r.json().path("error").asText().contains("loraxj.max-batch-total-tokens"), r.body());
        // within the char bound but past the token limit: refused by its count (one token per x, plus "▁" and BOS)
        int cap = cacheTokens();
        TestClient.Reply counted = client.post("/tokenize", "{\"inputs\":" + GenerateApiTest.quote("x".repeat(cap)) + "}");
        assertEquals(422, counted.status(), counted.body());
        assertTrue(counted.json().path("error").asText().contains("Given: " + (cap + 2)), counted.body());
        TestClient.Reply longer = client.post("/tokenize", "{\"inputs\":" + GenerateApiTest.quote("x".repeat(1000)) + "}");
        assertEquals(200, longer.status(), "longer than a prompt is fine: clients count tokens to decide what to cut");
        assertEquals(1002, longer.json().size());
        TestClient.Reply fine = client.post("/tokenize", "{\"inputs\":\"Once upon a time\"}");
        assertEquals(200, fine.status(), fine.body());
        assertEquals(5, fine.json().size(), fine.body());
    }

    @Test
    void aLongPromptIsRefusedAndATruncatedOneKeepsItsTail() {
        TestClient.Reply r = client.post("/generate", GenerateApiTest.body(MEGABYTE, "\"max_new_tokens\":2"));
        assertEquals(422, r.status());
        assertTrue(r.json().path("error").asText().contains("characters"), r.body());
        TestClient.Reply cut = client.post("/generate", GenerateApiTest.body(MEGABYTE, "\"max_new_tokens\":2,\"truncate\":9,\"decoder_input_details\":true"));
        assertEquals(200, cut.status(), cut.body());
        assertEquals("9", cut.headers().firstValue("x-prompt-tokens").orElse(null));
        TestClient.Reply same = client.post("/generate", GenerateApiTest.body("a time, there was a little girl. Once upon a time, there was a little girl. ",
                "\"max_new_tokens\":2,\"truncate\":9,\"decoder_input_details\":true"));
        assertEquals(same.json().path("details").path("prefill"), cut.json().path("details").path("prefill"),
                "the last 9 tokens of a megabyte of the story are those of its last sentences");
    }
}
