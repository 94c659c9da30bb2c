package dev.loraxj.hub;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.api.TestClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hub adapters and private-adapter checks through the REST API, against a fake Hub on 127.0.0.1. */
@QuarkusTest
@TestProfile(HubApiTest.Profile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HubApiTest {

    /** Its own profile: the fake Hub is started for this server only. */
    public static class Profile implements QuarkusTestProfile {
        @Override
        public java.util.List<TestResourceEntry> testResources() {
            return java.util.List.of(new TestResourceEntry(FakeHubResource.class));
        }
    }

    static final String PROMPT = "Once upon a time, there was a little girl";

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static String body(String adapter, String extra) {
        return "{\"inputs\":\"" + PROMPT + "\",\"parameters\":{\"max_new_tokens\":6,\"adapter_id\":\"" + adapter + "\"" + extra + "}}";
    }

    TestClient.Reply post(String body, String bearer) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve("/generate")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body));
            if (bearer != null) {
                b.header("Authorization", "Bearer " + bearer);
            }
            HttpResponse<String> r = HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new TestClient.Reply(r.statusCode(), r.body(), r.headers());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    @Order(0)
    void theBaseModelItselfCameFromTheHub() {
        assertEquals("stories260K", client.get("/info").json().path("model_id").asText(), "the repo's last segment");
        assertTrue(FakeHubResource.hub.count("/cdn/test-org~stories260K/") >= 4, "config, weights and tokenizer files were downloaded");
    }

    @Test
    @Order(1)
    void aPublicHubAdapterIsDownloadedOnceAndServed() {
        long before = FakeHubResource.hub.count("/cdn/");
        TestClient.Reply r = post(body("test-org/max", ""), null);
        assertEquals(200, r.status(), r.body());
        assertTrue(r.json().path("generated_text").asText().startsWith(" named Max"), r.body());
        assertEquals("hub", r.headers().firstValue("x-adapter-source").orElse(""));
        long files = FakeHubResource.hub.count("/cdn/") - before;
        assertEquals(2, files, "adapter_config.json and adapter_model.safetensors");
        assertEquals(200, post(body("test-org/max", ""), null).status());
        assertEquals(files, FakeHubResource.hub.count("/cdn/") - before, "no second download");
    }

    @Test
    @Order(2)
    void privateAdaptersNeedAValidTokenOnEveryRequest() {
        TestClient.Reply none = post(body("test-org/private-sue", ""), null);
        assertEquals(401, none.status(), none.body());
        assertEquals("unauthorized", none.json().path("error_type").asText());
        TestClient.Reply wrong = post(body("test-org/private-sue", ",\"api_token\":\"" + FakeHubResource.WRONG + "\""), null);
        assertEquals(403, wrong.status(), wrong.body());
        assertEquals("forbidden", wrong.json().path("error_type").asText());
        assertFalse(wrong.body().contains(FakeHubResource.WRONG));

        TestClient.Reply good = post(body("test-org/private-sue", ""), FakeHubResource.GOOD);
        assertEquals(200, good.status(), good.body());
        assertTrue(good.json().path("generated_text").asText().startsWith(" named Sue"), good.body());
        TestClient.Reply viaParam = post(body("test-org/private-sue", ",\"api_token\":\"" + FakeHubResource.GOOD + "\""), null);
        assertEquals(200, viaParam.status(), viaParam.body());

        // the adapter is now in memory: still refused without a valid token
        assertEquals(401, post(body("test-org/private-sue", ""), null).status());
        assertEquals(403, post(body("test-org/private-sue", ""), FakeHubResource.WRONG).status());
        TestClient.Reply stream = client.post("/generate_stream", body("test-org/private-sue", ""));
        assertEquals(401, stream.status(), "streams are refused with the status too: " + stream.body());
        assertTrue(client.get("/adapters").body().contains("private-sue"), "the adapter really is loaded");
    }

    @Test
    @Order(3)
    void aRevokedTokenIsRefusedOnceTheCacheTtlHasPassed() throws Exception {
        assertEquals(200, post(body("test-org/private-synth", ""), FakeHubResource.GOOD).status());
        FakeHubResource.hub.repo("test-org/private-synth").revoke(FakeHubResource.GOOD);
        Thread.sleep(1200); // loraxj.auth.cache-ttl is 1 s in this profile
        TestClient.Reply r = post(body("test-org/private-synth", ""), FakeHubResource.GOOD);
        assertEquals(403, r.status(), r.body());
        FakeHubResource.hub.repo("test-org/private-synth").privateFor(FakeHubResource.GOOD);
    }

    @Test
    @Order(4)
    void theCheckRunsWhileTheRequestWaitsInTheQueue() throws Exception {
        // a long generation fills the whole KV cache (512 slots), so the next request must queue
        CompletableFuture<TestClient.Reply> busy = CompletableFuture.supplyAsync(() -> client.post("/generate",
                "{\"inputs\":\"Once\",\"parameters\":{\"max_new_tokens\":500,\"ignore_eos_token\":true}}"));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (client.metric("loraxj_kv_cache_free_blocks") > 1 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        long delayMs = 800;
        FakeHub.Repo slow = FakeHubResource.hub.repo("test-org/slow-private");
        slow.delayInfo(delayMs);
        FakeHubResource.hub.clear();
        long t0 = System.nanoTime();
        CompletableFuture<TestClient.Reply> mine = CompletableFuture.supplyAsync(() -> post(body("test-org/slow-private", ""), FakeHubResource.GOOD));
        // while the Hub holds the check, the request already sits in the queue
        while (FakeHubResource.hub.seen().isEmpty() && System.nanoTime() - t0 < 600_000_000L) {
            if (client.metric("loraxj_queue_size") >= 1) {
                break;
            }
            Thread.sleep(2);
        }
        double queued = client.metric("loraxj_queue_size");
        long checkAnswered = System.nanoTime();
        assertTrue(queued >= 1, "the request entered the queue before its check finished");
        TestClient.Reply r = mine.get();
        long latencyMs = (System.nanoTime() - t0) / 1_000_000;
        slow.delayInfo(0);
        assertEquals(200, r.status(), r.body());
        assertTrue(checkAnswered - t0 < delayMs * 1_000_000L, "observed before the Hub answered");
        long queueMs = Long.parseLong(r.headers().firstValue("x-queue-time").orElseThrow());
        assertTrue(queueMs >= delayMs - 50, "admission waited for the check: queue " + queueMs + " ms");
        assertTrue(latencyMs < queueMs + delayMs - 300,
                "check and queue overlap: latency " + latencyMs + " ms, queue " + queueMs + " ms, check " + delayMs + " ms");
        assertEquals(200, busy.get().status());
    }

    @Test
    @Order(5)
    void aMissingRepoIsAClear424() {
        TestClient.Reply r = post(body("test-org/does-not-exist", ""), null);
        assertEquals(424, r.status(), r.body());
        assertTrue(r.json().path("error").asText().contains("does not exist"), r.body());
    }

    @Test
    @Order(6)
    void aMergeWithAPrivateAdapterNeedsATokenThatPassesForIt() {
        String merge = "{\"inputs\":\"" + PROMPT + "\",\"parameters\":{\"max_new_tokens\":4,\"merged_adapters\":{\"ids\":"
                + "[\"test-org/max\",\"test-org/private-sue\"],\"weights\":[0.7,0.3]}}}";
        assertEquals(401, post(merge, null).status());
        assertEquals(403, post(merge, FakeHubResource.WRONG).status());
        TestClient.Reply ok = post(merge, FakeHubResource.GOOD);
        assertEquals(200, ok.status(), ok.body());
        assertEquals(401, post(merge, null).status(), "the cached merge is still refused without a token");
    }

    @Test
    @Order(100)
    void noTokenEverAppearsInTheLogs() throws Exception {
        String logged = Files.readString(FakeHubResource.log);
        // the run's own lines (not a length: DJL's first-load warnings come only in the JVM's first app)
        assertTrue(logged.contains("model test-org/stories260K ready"), "the log file captured the run: " + logged);
        for (String token : new String[] {FakeHubResource.GOOD, FakeHubResource.WRONG, FakeHubResource.GLOBAL}) {
            assertFalse(logged.contains(token), "a token leaked into the log");
        }
        JsonNode metrics = TestClient.JSON.getNodeFactory().textNode(client.get("/metrics").body());
        for (String token : new String[] {FakeHubResource.GOOD, FakeHubResource.WRONG, FakeHubResource.GLOBAL}) {
            assertFalse(metrics.asText().contains(token), "a token leaked into the metrics");
            assertFalse(client.get("/adapters").body().contains(token));
        }
    }
}
