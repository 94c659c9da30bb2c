package dev.loraxj.bench;

import com.sun.net.httpserver.HttpServer;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.Tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Generation throughput with tracing on against off, in one run: two servers from the packaged jar, one
 * exporting every request's spans over OTLP/HTTP to a receiver in this process (on loopback, answering
 * at once, so the figure is the server's cost of tracing and not a collector's), bursts of streaming
 * clients alternating between them. Takes bench serve's options ({@code --clients}, {@code --tokens},
 * {@code --rounds}, {@code --shape}, {@code --jar}, ...).
 */
public final class TracingBench {

    /** Medians over rounds; {@code ratio} is on/off throughput per round, then the median. */
    public record Report(double offTokensPerSecond, double onTokensPerSecond, double ratio, double offTtftP50, double onTtftP50,
                         long exports, long exportedBytes) {
    }

    private TracingBench() {
    }

    public static void main(String[] args) {
        ServeBench.Options o;
        try {
            o = ServeBench.Options.parse(args);
        } catch (RuntimeException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        run(o, System.out);
    }

    public static Report run(ServeBench.Options o, PrintStream out) {
        Path model = ServeSetup.servedModel(o.dir(), o.shape(), o.tokenizer(), out);
        ModelConfig cfg = ModelConfig.load(model);
        AtomicLong exports = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        HttpServer receiver = receiver(exports, bytes);
        try (Tokenizer tok = Tokenizer.load(model)) {
            Files.createDirectories(o.out());
            ServeSetup s = new ServeSetup(o, model, cfg, new Prompts(tok), o.out(), out);
            List<String> prompts = s.clientPrompts();
            int pool = Math.max(s.workingSet(prompts, o.tokens() + 1), o.maxTotal());
            String endpoint = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/v1/traces";
            out.printf(Locale.ROOT, "loraxj tracing bench: shape %s, %d clients x %d tokens, %d round(s); spans exported over"
                    + " OTLP/HTTP to %s%n", o.shape(), o.clients(), o.tokens(), o.rounds(), endpoint);
            try (ServerProcess off = s.server("tracing-off", pool, o.maxTotal(), o.clients(), true, false, ServeSetup.Adapters.NONE);
                 ServerProcess on = s.server("tracing-on", pool, o.maxTotal(), o.clients(), true, false, ServeSetup.Adapters.NONE,
                         Map.of("quarkus.otel.exporter.otlp.traces.endpoint", endpoint,
                                 "quarkus.otel.exporter.otlp.traces.protocol", "http/protobuf"))) {
                s.warm(off, ServeSetup.Adapters.NONE);
                s.warm(on, ServeSetup.Adapters.NONE);
                out.printf(Locale.ROOT, "  %-5s %-8s %9s %9s %7s%n", "round", "tracing", "tok/s", "TTFT p50", "wall s");
                List<double[]> rows = new ArrayList<>();
                for (int r = 0; r < o.rounds(); r++) {
                    double[] row = new double[4];
                    ServerProcess[] order = r % 2 == 0 ? new ServerProcess[] {off, on} : new ServerProcess[] {on, off};
                    for (ServerProcess server : order) {
                        // fresh salts per burst: both servers prefill every prompt, as new requests do
                        String salt = "r" + r + "-" + (server == on ? "on" : "off");
                        StreamingLoad.Round round = StreamingLoad.run(server,
                                ServeSetup.requests(prompts, i -> null, null, o.tokens(), salt), o.timeout());
                        int c = server == on ? 1 : 0;
                        row[c] = round.tokensPerSecond();
                        row[2 + c] = round.ttftSeconds(0.5);
                        out.printf(Locale.ROOT, "  %-5d %-8s %9.1f %8.3fs %7.1f%n", r + 1, server == on ? "on" : "off",
                                round.tokensPerSecond(), round.ttftSeconds(0.5), round.wallNanos() / 1e9);
                    }
                    rows.add(row);
                }
                Report rep = new Report(ServeBench.median(rows, 0), ServeBench.median(rows, 1),
                        ServeBench.median(rows.stream().map(x -> new double[] {x[1] / x[0]}).toList(), 0), ServeBench.median(rows, 2), ServeBench.median(rows, 3),
                        exports.get(), bytes.get());
                out.printf(Locale.ROOT, "  tracing on / off throughput: %.3f (%.1f / %.1f tok/s); TTFT p50 %.3fs on, %.3fs off;"
                                + " %d exports, %.1f kB of spans received%n", rep.ratio(), rep.onTokensPerSecond(), rep.offTokensPerSecond(),
                        rep.onTtftP50(), rep.offTtftP50(), rep.exports(), rep.exportedBytes() / 1e3);
                return rep;
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot write to " + o.out() + ": " + e.getMessage(), e);
        } finally {
            receiver.stop(0);
        }
    }

    /** An OTLP/HTTP endpoint that takes every export and answers 200 with an empty (valid) protobuf response. */
    private static HttpServer receiver(AtomicLong exports, AtomicLong bytes) {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/v1/traces", ex -> {
                try (InputStream in = ex.getRequestBody()) {
                    bytes.addAndGet(in.transferTo(java.io.OutputStream.nullOutputStream()));
                }
                exports.incrementAndGet();
                ex.getResponseHeaders().add("Content-Type", "application/x-protobuf");
                ex.sendResponseHeaders(200, -1);
                ex.close();
            });
            server.start();
            return server;
        } catch (IOException e) {
            throw new IllegalStateException("cannot open the OTLP receiver on loopback: " + e.getMessage(), e);
        }
    }
}
