package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.SharedAssets;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.fail;

/** A real HTTP client against the running test server (loopback only). */
public final class TestClient {

    public static final ObjectMapper JSON = new ObjectMapper();
    // HTTP/1.1 as load balancers and SDKs talk to a pod (the JDK client would otherwise upgrade to h2c)
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    private final URI base;

    public TestClient(URI base) {
        this.base = base;
    }

    public record Reply(int status, String body, java.net.http.HttpHeaders headers) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (Exception e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }
    }

    public Reply post(String path, String body) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve(path))
                    .timeout(Duration.ofSeconds(120))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), r.headers());
        } catch (Exception e) {
            throw new AssertionError("POST " + path + " failed", e);
        }
    }

    public Reply get(String path) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(60)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), r.headers());
        } catch (Exception e) {
            throw new AssertionError("GET " + path + " failed", e);
        }
    }

    /** The JSON payloads of an SSE body's data lines. */
    public static List<JsonNode> sseEvents(String body) {
        List<JsonNode> out = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            for (String line : block.split("\n")) {
                if (line.startsWith("data:")) {
                    String data = line.substring(5).trim();
                    try {
                        out.add(JSON.readTree(data));
                    } catch (Exception e) {
                        throw new AssertionError("bad SSE data: " + data, e);
                    }
                }
            }
        }
        return out;
    }

    /** Opens a stream and reads events one by one; close() disconnects. */
    public StreamReader stream(String path, String body) {
        try {
            HttpResponse<java.io.InputStream> r = http.send(HttpRequest.newBuilder(base.resolve(path))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
            return new StreamReader(r);
        } catch (Exception e) {
            throw new AssertionError("stream " + path + " failed", e);
        }
    }

    public static final class StreamReader implements AutoCloseable {
        private final HttpResponse<java.io.InputStream> response;
        private final BufferedReader reader;

        StreamReader(HttpResponse<java.io.InputStream> response) {
            this.response = response;
            this.reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
        }

        public int status() {
            return response.statusCode();
        }

        /** The next data payload, or null at the end. */
        public JsonNode next() throws Exception {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.startsWith("data:")) {
                    return JSON.readTree(line.substring(5).trim());
                }
            }
            return null;
        }

        @Override
        public void close() throws Exception {
            response.body().close();
        }
    }

    /** Waits until the model is loaded (the server loads it in the background). */
    public void awaitReady() {
        SharedAssets.root();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (get("/q/health/ready").status() == 200) {
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        fail("model not ready after 120 s: " + get("/q/health/ready").body());
    }

    /** Waits (up to 30 s) until a metric from /metrics has exactly {@code value}. */
    public void awaitMetric(String name, double value) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (metric(name) != value) {
            if (System.nanoTime() > deadline) {
                fail(name + " stayed at " + metric(name) + ", expected " + value);
            }
            Thread.sleep(10);
        }
    }

    /** A gauge's value from /metrics. */
    public double metric(String name) {
        String body = get("/metrics").body();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(body);
        if (!m.find()) {
            throw new AssertionError("metric " + name + " not found in /metrics");
        }
        return Double.parseDouble(m.group(2));
    }
}
