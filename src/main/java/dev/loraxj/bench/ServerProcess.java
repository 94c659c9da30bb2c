package dev.loraxj.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A loraxj server started from the packaged jar as a child process, bound to 127.0.0.1 only, for
 * {@code bench serve} and {@code bench route}. It is killed on {@link #close()} and, should the bench die first, by a
 * shutdown hook.
 */
final class ServerProcess implements StreamingLoad.Server, AutoCloseable {

    /** The JDK's HTTP client loads the default TLS trust store and logs every certificate at DEBUG; the bench's console is for figures. */
    private static final java.util.logging.Logger QUIET_TLS = java.util.logging.Logger.getLogger("jdk.event.security");

    static {
        QUIET_TLS.setLevel(java.util.logging.Level.WARNING);
    }

    /** Loads this class, whose static block quiets the JDK's TLS logger, for clients that start no server. */
    static void quietTls() {
        QUIET_TLS.setLevel(java.util.logging.Level.WARNING);
    }

    private final String name;
    private final Process process;
    private final Path log;
    private final Thread killer;
    final URI base;
    final HttpClient http;

    private ServerProcess(String name, Process process, Path log, int port) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.base = URI.create("http://127.0.0.1:" + port);
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        this.killer = new Thread(process::destroyForcibly, "loraxj-bench-kill-" + name);
        Runtime.getRuntime().addShutdownHook(killer);
    }

    /**
     * Starts {@code java [jvmArgs] -D<props> -jar jar} and waits until /health answers 200 (a
     * one-token generation through the engine), at most {@code timeout}.
     */
    static ServerProcess start(String name, Path jar, List<String> jvmArgs, Map<String, String> props, Path logDir,
                               Duration timeout) {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("no server jar at " + jar.toAbsolutePath()
                    + ": build it first (./mvnw package -DskipTests) or pass --jar");
        }
        int port = freePort();
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("--add-modules");
        cmd.add("jdk.incubator.vector");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmArgs);
        Map<String, String> all = new HashMap<>(props);
        all.put("quarkus.http.host", "127.0.0.1");
        all.put("quarkus.http.port", String.valueOf(port));
        all.put("quarkus.shutdown.delay-enabled", "false"); // the bench kills it; no drain to wait for
        all.put("quarkus.log.console.level", "WARN");
        all.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-jar");
        cmd.add(jar.toAbsolutePath().toString());
        Path log = logDir.resolve("server-" + name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("DJL_OFFLINE", "true");
        ServerProcess s;
        try {
            s = new ServerProcess(name, pb.start(), log, port);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the server: " + e.getMessage(), e);
        }
        try {
            s.awaitHealthy(timeout);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** A port free on 127.0.0.1 now (the child binds it a moment later). */
    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port on 127.0.0.1: " + e.getMessage(), e);
        }
    }

    private void awaitHealthy(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("server " + name + " exited with " + process.exitValue() + ":\n" + logTail());
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("/health")).timeout(Duration.ofSeconds(30)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for server " + name, e);
            }
            sleep(200);
        }
        throw new IllegalStateException("server " + name + " not healthy after " + timeout.toSeconds() + " s:\n" + logTail());
    }

    /** Every unlabelled sample of /metrics (Prometheus text), by name. */
    Map<String, Double> metrics() {
        Map<String, Double> out = new HashMap<>();
        for (String line : metricsText().split("\n")) {
            int sp = line.lastIndexOf(' ');
            if (line.startsWith("#") || sp < 0 || line.indexOf('{') >= 0) {
                continue;
            }
            try {
                out.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
            } catch (NumberFormatException e) {
                // not a sample
            }
        }
        return out;
    }

    /** The body of /metrics. */
    String metricsText() {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("/metrics")).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.body();
        } catch (IOException e) {
            throw new IllegalStateException("server " + name + " did not answer /metrics: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public URI base() {
        return base;
    }

    @Override
    public HttpClient http() {
        return http;
    }

    @Override
    public double metric(String name) {
        return metrics().getOrDefault(name, Double.NaN);
    }

    /** Waits until metric {@code name} reaches {@code atLeast}, at most {@code timeout}. */
    void awaitMetric(String metric, double atLeast, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        double v = Double.NaN;
        while (System.nanoTime() < deadline) {
            v = metric(metric);
            if (v >= atLeast) {
                return;
            }
            sleep(200);
        }
        throw new IllegalStateException("server " + name + ": " + metric + " is " + v + ", not " + atLeast + " after "
                + timeout.toSeconds() + " s:\n" + logTail());
    }

    /**
     * Waits until nothing runs or waits in the engine: the sequences of clients that stopped reading
     * are dropped at the engine's next step, after the clients have already gone.
     */
    @Override
    public void awaitIdle(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Map<String, Double> m = metrics();
            if (m.getOrDefault("loraxj_batch_size", -1.0) == 0 && m.getOrDefault("loraxj_queue_size", -1.0) == 0) {
                return;
            }
            sleep(100);
        }
        throw new IllegalStateException("server " + name + " still busy " + timeout.toSeconds() + " s after its clients finished:\n" + logTail());
    }

    String name() {
        return name;
    }

    @Override
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public void close() {
        http.shutdownNow();
        // killed, not drained: nothing of a bench server outlives it, and a graceful stop costs seconds per server
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(killer);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs anyway
        }
    }
}
