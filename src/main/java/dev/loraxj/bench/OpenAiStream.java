package dev.loraxj.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One client of a burst on the OpenAI wire: a streamed {@code POST /v1/completions}, greedy, EOS
 * ignored, so loraxj and llama-server each generate exactly {@code max_tokens} tokens for the same
 * client code. Tokens are the server's own count (usage), else one per event.
 */
final class OpenAiStream {

    private static final ObjectMapper JSON = new ObjectMapper();

    private OpenAiStream() {
    }

    static StreamingLoad.ClientResult one(StreamingLoad.Server server, StreamingLoad.Request r, long t0, Duration timeout,
                                          AtomicReferenceArray<InputStream> open, int slot, int maxEvents) {
        long sent = System.nanoTime() - t0;
        long first = -1;
        int events = 0;
        int usageTokens = -1;
        int promptTokens = -1;
        try {
            HttpRequest req = HttpRequest.newBuilder(server.base().resolve("/v1/completions"))
                    .timeout(timeout).header("Content-Type", "application/json").header("Accept", "text/event-stream")
                    .POST(HttpRequest.BodyPublishers.ofString(body(r, server instanceof StreamingLoad.ExternalServer))).build();
            HttpResponse<InputStream> resp = server.http().send(req, HttpResponse.BodyHandlers.ofInputStream());
            InputStream in = resp.body();
            open.set(slot, in);
            if (resp.statusCode() != 200) {
                String text = new String(in.readNBytes(2000), StandardCharsets.UTF_8);
                return new StreamingLoad.ClientResult(sent, sent, System.nanoTime() - t0, 0, "HTTP " + resp.statusCode() + ": " + text);
            }
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while (events <= maxEvents && (line = lines.readLine()) != null) {
                    if (!line.startsWith("data:")) {
                        continue;
                    }
                    String data = line.substring(5).trim();
                    if (data.equals("[DONE]")) {
                        break;
                    }
                    JsonNode e = JSON.readTree(data);
                    if (e.has("error")) {
                        return new StreamingLoad.ClientResult(sent, first < 0 ? sent : first, System.nanoTime() - t0, events,
                                "stream error: " + e.path("error"));
                    }
                    JsonNode usage = e.path("usage");
                    if (usage.has("completion_tokens")) {
                        usageTokens = usage.path("completion_tokens").asInt();
                        promptTokens = usage.path("prompt_tokens").asInt(-1);
                    }
                    JsonNode choice = e.path("choices").path(0);
                    if (choice.has("text") && (!choice.path("text").asText().isEmpty() || choice.path("finish_reason").isNull())) {
                        events++;
                        if (first < 0) {
                            first = System.nanoTime() - t0;
                        }
                    }
                }
            } finally {
                open.set(slot, null);
            }
            long end = System.nanoTime() - t0;
            int tokens = usageTokens >= 0 ? usageTokens : events;
            return new StreamingLoad.ClientResult(sent, first < 0 ? end : first, end, tokens, tokens == 0 ? "no token came" : null,
                    promptTokens);
        } catch (IOException | RuntimeException e) {
            return new StreamingLoad.ClientResult(sent, sent, System.nanoTime() - t0, events, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new StreamingLoad.ClientResult(sent, sent, System.nanoTime() - t0, events, "interrupted");
        }
    }

    /** loraxj reads ignore_eos_token and refuses fields it does not know; llama-server reads ignore_eos and ignores the rest. */
    static String body(StreamingLoad.Request r, boolean external) {
        ObjectNode root = JSON.createObjectNode();
        root.put("model", r.adapterId() != null ? r.adapterId() : "");
        root.put("prompt", r.inputs());
        if (r.maxNewTokens() != null) {
            root.put("max_tokens", r.maxNewTokens());
        }
        root.put("temperature", 0);
        root.put("stream", true);
        root.putObject("stream_options").put("include_usage", true);
        root.put("ignore_eos_token", true);
        if (external) {
            root.put("ignore_eos", true);
        }
        if (r.cacheSalt() != null) {
            root.put("cache_salt", r.cacheSalt());
        }
        return root.toString();
    }
}
