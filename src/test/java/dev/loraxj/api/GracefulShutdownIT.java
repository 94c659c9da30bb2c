package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.TestFiles;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real SIGTERM to the packaged server during a 64-token stream: the stream completes, new
 * requests get 503, readiness is down, and the process exits.
 */
class GracefulShutdownIT {

    @Test
    void sigtermDrainsARunningStreamAndRefusesNewWork() throws Exception {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar").toAbsolutePath();
        assertTrue(Files.exists(jar), "package the server first: " + jar);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path log = TestFiles.file("loraxj-sigterm", ".log");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dloraxj.model-id=" + SlowModelProfile.model(), "-Dloraxj.threads=1",
                "-Dquarkus.http.port=" + port, "-Dloraxj.shutdown-delay=3s",
                "-jar", jar.toString());
        pb.environment().put("DJL_OFFLINE", "true");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process server = pb.start();
        try {
            TestClient client = new TestClient(URI.create("http://127.0.0.1:" + port + "/"));
            awaitUp(client, server, log.toFile());
            client.awaitReady();
            try (TestClient.StreamReader s = client.stream("/generate_stream",
                    "{\"inputs\":\"Once\",\"parameters\":{\"max_new_tokens\":64,\"ignore_eos_token\":true}}")) {
                assertEquals(200, s.status());
                assertNotNull(s.next());
                server.destroy(); // SIGTERM
                long deadline = System.nanoTime() + 2_000_000_000L;
                int ready = 200;
                while (ready != 503 && System.nanoTime() < deadline) {
                    ready = client.get("/q/health/ready").status();
                }
                assertEquals(503, ready, "readiness goes down on SIGTERM");
                TestClient.Reply refused = client.post("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":2}}");
                assertEquals(503, refused.status(), refused.body());
                int events = 1;
                JsonNode e;
                JsonNode last = null;
                while ((e = s.next()) != null) {
                    events++;
                    last = e;
                }
                assertEquals(64, events, "the stream completed: " + Files.readString(log));
                assertFalse(last.path("generated_text").isNull());
            }
            assertTrue(server.waitFor(60, TimeUnit.SECONDS), "the server exits after draining");
        } finally {
            server.destroyForcibly();
        }
    }

    @Test
    void anIdleSigtermExitsWithoutWaitingAndTheLogHasNoGpuNoise() throws Exception {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar").toAbsolutePath();
        assertTrue(Files.exists(jar), "package the server first: " + jar);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path log = TestFiles.file("loraxj-idle-sigterm", ".log");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dloraxj.model-id=" + SlowModelProfile.model(), "-Dloraxj.threads=1",
                "-Dquarkus.http.port=" + port, "-Dloraxj.shutdown-delay=60s", "-jar", jar.toString());
        pb.environment().put("DJL_OFFLINE", "true");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process server = pb.start();
        try {
            TestClient client = new TestClient(URI.create("http://127.0.0.1:" + port + "/"));
            awaitUp(client, server, log.toFile());
            client.awaitReady();
            assertEquals(200, client.post("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":2}}").status());
            long t0 = System.nanoTime();
            server.destroy(); // SIGTERM, nothing in flight
            // well under the 60 s delay: the engine and Quarkus stop in about a second
            assertTrue(server.waitFor(30, TimeUnit.SECONDS), "an idle server exits without the delay: " + Files.readString(log));
            assertTrue(System.nanoTime() - t0 < 30_000_000_000L);
            String output = Files.readString(log);
            assertTrue(output.contains("shutting down: admission stopped"), output);
            assertFalse(output.contains("Failed to detect GPU count"), "DJL's CUDA probe stays quiet on a CPU machine: " + output);
            assertFalse(output.contains(" WARN "), "a plain start and stop logs no warning: " + output);
        } finally {
            server.destroyForcibly();
        }
    }

    private static void awaitUp(TestClient client, Process server, File log) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            assertTrue(server.isAlive(), "the server died: " + Files.readString(log.toPath()));
            try {
                client.get("/q/health/live");
                return;
            } catch (AssertionError e) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("the server did not start: " + String.join("\n", List.of(Files.readString(log.toPath()))));
    }
}
