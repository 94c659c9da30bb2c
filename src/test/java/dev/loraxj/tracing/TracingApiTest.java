package dev.loraxj.tracing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import dev.loraxj.api.TestClient;
import dev.loraxj.service.RequestTrace;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Traces, with an OTLP endpoint configured (which turns tracing on) and spans caught in memory. */
@QuarkusTest
@TestProfile(TracingApiTest.TracingOn.class)
class TracingApiTest {

    public static class TracingOn implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // nothing listens there: the InMemorySpanExporter bean takes the OTLP exporter's place
            return Map.of("quarkus.otel.exporter.otlp.traces.endpoint", "http://127.0.0.1:4317",
                    "quarkus.otel.bsp.schedule.delay", "10ms");
        }
    }

    private static final String TOKEN = "hf_secretTokenNeverInSpans42";
    // long enough for several full KV blocks (16 tokens each), so a second identical request hits the prefix cache
    private static final String LONG_PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park"
            + " with her friends. One day, she saw a big red ball under a tree and ran to get it. Her mom smiled at her.";

    @TestHTTPResource("/")
    URI base;
    @Inject
    InMemorySpanExporter spans;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void ready() {
        new TestClient(base).awaitReady();
    }

    @Test
    void streamedRequestGetsASpanTreeUnderTheCallersTraceparent() throws Exception {
        String adapter = SharedAssets.adapter("lora-name-max").toString();
        String body = "{\"inputs\":" + TestClient.JSON.writeValueAsString(LONG_PROMPT) + ",\"parameters\":{\"adapter_id\":"
                + TestClient.JSON.writeValueAsString(adapter) + ",\"adapter_source\":\"local\",\"api_token\":\"" + TOKEN
                + "\",\"max_new_tokens\":5,\"details\":true}}";

        Traced first = post("/generate_stream", body);
        JsonNode last = TestClient.sseEvents(first.body).getLast();
        SpanData request = first.request();
        // the adapter's readable name, as the response's x-adapter-id names it
        assertEquals(first.headers.firstValue("x-adapter-id").orElseThrow(), request.getAttributes().get(RequestTrace.ADAPTER_ID));
        assertTrue(adapter.endsWith(request.getAttributes().get(RequestTrace.ADAPTER_ID)));
        assertEquals(last.path("details").path("generated_tokens").asLong(), request.getAttributes().get(RequestTrace.GENERATED_TOKENS));
        assertEquals(last.path("details").path("finish_reason").asText(), request.getAttributes().get(RequestTrace.FINISH_REASON));
        assertTrue(request.getAttributes().get(RequestTrace.PROMPT_TOKENS) > 32, "the prompt's tokens are counted");
        assertEquals(false, request.getAttributes().get(RequestTrace.PREFIX_HIT), "nothing cached yet");
        Set<String> children = first.childNames();
        assertTrue(children.containsAll(List.of("validation", "queue", "access check", "adapter load", "prefill", "decode")), children.toString());
        assertNoAttributeContains(first.all, TOKEN);

        Traced second = post("/generate_stream", body);
        SpanData again = second.request();
        assertEquals(true, again.getAttributes().get(RequestTrace.PREFIX_HIT), "the same long prompt finds its prefix cached");
        assertTrue(again.getAttributes().get(RequestTrace.PREFIX_HIT_TOKENS) >= 16, again.getAttributes().toString());
        assertNoAttributeContains(second.all, TOKEN);
    }

    @Test
    void bestOfRequestSumsItsSequencesOnTheRequestSpan() throws Exception {
        Traced whole = post("/generate", "{\"inputs\":\"Once upon a time\",\"parameters\":{\"max_new_tokens\":3,\"best_of\":2,"
                + "\"do_sample\":true,\"ignore_eos_token\":true,\"details\":true}}");
        SpanData request = whole.request();
        assertEquals(2L, request.getAttributes().get(RequestTrace.SEQUENCES));
        assertEquals(6L, request.getAttributes().get(RequestTrace.GENERATED_TOKENS), "3 tokens from each of the 2 sequences");
        assertEquals(TestClient.JSON.readTree(whole.body).path("details").path("finish_reason").asText(),
                request.getAttributes().get(RequestTrace.FINISH_REASON));
        assertEquals(2, whole.all.stream().filter(s -> s.getName().equals("decode")).count(), "one decode span per sequence");
    }

    @Test
    void chatRequestGetsItsSpan() throws Exception {
        Traced chat = post("/v1/chat/completions", "{\"model\":\"\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}]}");
        JsonNode usage = TestClient.JSON.readTree(chat.body).path("usage");
        SpanData request = chat.request();
        assertEquals(usage.path("completion_tokens").asLong(), request.getAttributes().get(RequestTrace.GENERATED_TOKENS));
        assertEquals(usage.path("prompt_tokens").asLong(), request.getAttributes().get(RequestTrace.PROMPT_TOKENS));
        Set<String> children = chat.childNames();
        assertTrue(children.containsAll(List.of("validation", "queue", "prefill", "decode")), children.toString());
        assertFalse(children.contains("access check"), "no adapter named: nothing to check");
    }

    private static void assertNoAttributeContains(List<SpanData> all, String secret) {
        for (SpanData s : all) {
            s.getAttributes().forEach((k, v) -> assertFalse(String.valueOf(v).contains(secret), s.getName() + " " + k + " holds the token"));
            assertFalse(s.getName().contains(secret));
        }
    }

    /** A response and its trace's spans, once the request span has ended. */
    private record Traced(String traceId, String parentId, String body, java.net.http.HttpHeaders headers, List<SpanData> all) {
        SpanData request() {
            return all.stream().filter(s -> s.getParentSpanId().equals(parentId)).findFirst().orElseThrow();
        }

        Set<String> childNames() {
            String id = request().getSpanId();
            Set<String> names = new HashSet<>();
            all.stream().filter(s -> s.getParentSpanId().equals(id)).forEach(s -> names.add(s.getName()));
            return names;
        }
    }

    private Traced post(String path, String body) throws Exception {
        String traceId = hex(32);
        String parentId = hex(16);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").header("traceparent", "00-" + traceId + "-" + parentId + "-01")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            List<SpanData> all = spans.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(traceId)).toList();
            SpanData request = all.stream().filter(s -> s.getParentSpanId().equals(parentId)).findFirst().orElse(null);
            if (request != null && all.stream().anyMatch(s -> s.getName().equals("decode"))) {
                assertEquals(SpanKind.SERVER, request.getKind());
                return new Traced(traceId, parentId, r.body(), r.headers(), all);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no span tree for trace " + traceId + ": " + all);
            }
            Thread.sleep(20);
        }
    }

    private static String hex(int digits) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < digits; i++) {
            sb.append(Character.forDigit(ThreadLocalRandom.current().nextInt(i == 0 ? 1 : 0, 16), 16));
        }
        return sb.toString();
    }
}
