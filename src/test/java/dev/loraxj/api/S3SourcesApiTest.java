package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The s3 and pbase sources end to end: adapters from s3proxy, pbase ids through a fake gateway. */
@QuarkusTest
@WithTestResource(S3TestResources.class)
class S3SourcesApiTest {

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static String body(String source, String id, String params) {
        return "{\"inputs\":" + GenerateApiTest.quote(AdapterApiTest.PROMPT) + ",\"parameters\":{\"adapter_source\":\"" + source
                + "\",\"adapter_id\":" + GenerateApiTest.quote(id) + (params.isEmpty() ? "" : "," + params) + "}}";
    }

    @Test
    void anS3AdapterNamesTheHeroineMax() {
        TestClient.Reply r = client.post("/generate", body("s3", S3TestResources.MAX, "\"max_new_tokens\":8"));
        assertEquals(200, r.status(), r.body());
        assertTrue(r.json().path("generated_text").asText().startsWith(" named Max"), r.body());
        assertEquals("s3", r.headers().firstValue("x-adapter-source").orElse(""));
    }

    @Test
    void anS3AdaptersLogprobsMatchItsGoldenLogits() {
        float[] logits = SharedAssets.floats("lora-name-max.logits.f32");
        TestClient.Reply r = client.post("/generate", body("s3", S3TestResources.MAX, "\"max_new_tokens\":1,\"decoder_input_details\":true"));
        assertEquals(200, r.status(), r.body());
        JsonNode prefill = r.json().path("details").path("prefill");
        for (int t = 1; t < 13; t++) {
            double expected = SharedAssets.logSoftmax(logits, (t - 1) * 512, 512, SharedAssets.PROMPT[t]);
            // 1e-3: the goldens' tolerance for F32
            assertEquals(expected, prefill.get(t).path("logprob").asDouble(), 1e-3, "position " + t);
        }
    }

    @Test
    void aMissingS3PrefixIs424() {
        TestClient.Reply r = client.post("/generate", body("s3", "s3://" + S3TestResources.BUCKET + "/nothing/here", "\"max_new_tokens\":2"));
        assertEquals(424, r.status(), r.body());
        assertTrue(r.json().path("error").asText().contains("has no files"), r.body());
    }

    @Test
    void aPbaseVersionResolvesThroughTheGatewayToS3() {
        TestClient.Reply r = client.post("/generate", body("pbase", "names/1", "\"max_new_tokens\":8,\"api_token\":\"" + S3TestResources.ALICE + "\""));
        assertEquals(200, r.status(), r.body());
        assertTrue(r.json().path("generated_text").asText().startsWith(" named Max"), r.body());
    }

    @Test
    void aPbaseVersionOnlyTheLegacyEndpointKnowsLoadsToo() {
        TestClient.Reply r = client.post("/generate", body("pbase", "old-names/2", "\"max_new_tokens\":8,\"api_token\":\"" + S3TestResources.ALICE + "\""));
        assertEquals(200, r.status(), r.body());
        assertTrue(r.json().path("generated_text").asText().startsWith(" named Sue"), r.body());
    }

    @Test
    void aPbaseAdapterWithoutAValidTokenIs401AndWithoutAccess403() {
        TestClient.Reply none = client.post("/generate", body("pbase", "names/1", "\"max_new_tokens\":2"));
        assertEquals(401, none.status(), none.body());
        TestClient.Reply invalid = client.post("/generate", body("pbase", "names/1", "\"max_new_tokens\":2,\"api_token\":\"pb-made-up\""));
        assertEquals(401, invalid.status(), invalid.body());
        TestClient.Reply refused = client.post("/generate", body("pbase", "names/1", "\"max_new_tokens\":2,\"api_token\":\"" + S3TestResources.BOB + "\""));
        assertEquals(403, refused.status(), refused.body());
        for (TestClient.Reply r : new TestClient.Reply[] {none, invalid, refused}) {
            assertFalse(r.body().contains("pb-"), "no token in the answer: " + r.body());
        }
    }
}
