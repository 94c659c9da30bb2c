package dev.loraxj.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real HTTP server on 127.0.0.1 speaking the Hugging Face Hub's API: model info and file
 * downloads (through a redirect, as the Hub's CDN does), public and private repos with tokens that
 * can be revoked, injected failures and delays, and a record of every request.
 */
public final class FakeHub implements AutoCloseable {

    /** One repository: its files, commit, and who may read it (empty set: public). */
    public static final class Repo {
        final Path dir;
        final String sha;
        final Set<String> tokens = ConcurrentHashMap.newKeySet();
        volatile boolean isPrivate;
        volatile long infoDelayMillis;

        Repo(Path dir, String sha) {
            this.dir = dir;
            this.sha = sha;
        }

        public Repo privateFor(String... allowed) {
            isPrivate = true;
            tokens.addAll(List.of(allowed));
            return this;
        }

        public void revoke(String token) {
            tokens.remove(token);
        }

        public void delayInfo(long millis) {
            infoDelayMillis = millis;
        }
    }

    /** A request the hub received: path, when, and whether it carried a token. */
    public record Seen(String path, long receivedNanos, long answeredNanos, int status) {
    }

    private final HttpServer server;
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final AtomicInteger active = new AtomicInteger(); // requests still being recorded

    public FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", this::handle);
        server.start();
    }

    public String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Serves the files of {@code dir} (read in place) as repo {@code id}. */
    public Repo add(String id, Path dir) {
        Repo r = new Repo(dir, sha1(id + dir));
        repos.put(id, r);
        return r;
    }

    public Repo repo(String id) {
        return repos.get(id);
    }

    /** The next {@code times} requests whose path starts with {@code prefix} answer 500. */
    public void failNext(String prefix, int times) {
        failures.put(prefix, new AtomicInteger(times));
    }

    public List<Seen> seen() {
        return List.copyOf(seen);
    }

    public long count(String pathPart) {
        return seen.stream().filter(s -> s.path().contains(pathPart)).count();
    }

    /** Forgets what was seen, once every request in progress has been recorded. */
    public void clear() {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (active.get() > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        seen.clear();
    }

    private void handle(HttpExchange ex) throws IOException {
        active.incrementAndGet();
        long received = System.nanoTime();
        String path = ex.getRequestURI().getPath();
        int status = 500;
        try {
            status = route(ex, path);
        } catch (RuntimeException e) {
            send(ex, 500, "{\"error\":\"" + e.getMessage() + "\"}");
        } finally {
            // the client may have its answer before this line runs; clear() waits for it
            seen.add(new Seen(path, received, System.nanoTime(), status));
            active.decrementAndGet();
        }
    }

    private int route(HttpExchange ex, String path) throws IOException {
        for (Map.Entry<String, AtomicInteger> f : failures.entrySet()) {
            if (path.startsWith(f.getKey()) && f.getValue().getAndDecrement() > 0) {
                return send(ex, 500, "{\"error\":\"injected\"}");
            }
        }
        if (path.startsWith("/api/models/")) {
            String rest = path.substring("/api/models/".length());
            String id = rest.contains("/revision/") ? rest.substring(0, rest.indexOf("/revision/")) : rest;
            Repo r = repos.get(id);
            if (r == null) {
                return send(ex, 404, "{\"error\":\"Repository not found\"}");
            }
            if (r.infoDelayMillis > 0) {
                sleep(r.infoDelayMillis);
            }
            int auth = authorize(ex, r);
            if (auth != 200) {
                return send(ex, auth, "{\"error\":\"Invalid credentials in Authorization header\"}");
            }
            ObjectMapper json = new ObjectMapper();
            ObjectNode info = json.createObjectNode().put("id", id).put("sha", r.sha).put("private", r.isPrivate);
            ArrayNode siblings = info.putArray("siblings");
            try (Stream<Path> files = Files.list(r.dir)) {
                files.sorted().forEach(f -> siblings.addObject().put("rfilename", f.getFileName().toString()));
            }
            siblings.addObject().put("rfilename", "README.md");
            siblings.addObject().put("rfilename", "training_args.bin");
            return send(ex, 200, info.toString());
        }
        if (path.startsWith("/cdn/")) {
            String[] p = path.substring("/cdn/".length()).split("/", 3);
            Repo r = repos.get(p[0].replace("~", "/"));
            Path file = r.dir.resolve(p[2]);
            byte[] bytes = Files.readAllBytes(file);
            ex.getResponseHeaders().add("ETag", "\"" + sha256(bytes) + "\"");
            ex.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
            return 200;
        }
        int resolve = path.indexOf("/resolve/");
        if (resolve > 0) {
            String id = path.substring(1, resolve);
            Repo r = repos.get(id);
            if (r == null) {
                return send(ex, 404, "{\"error\":\"Repository not found\"}");
            }
            int auth = authorize(ex, r);
            if (auth != 200) {
                return send(ex, auth, "{\"error\":\"Invalid credentials\"}");
            }
            String[] p = path.substring(resolve + "/resolve/".length()).split("/", 2);
            if (!Files.exists(r.dir.resolve(p[1]))) {
                return send(ex, 404, "{\"error\":\"Entry not found\"}");
            }
            ex.getResponseHeaders().add("Location", "/cdn/" + id.replace("/", "~") + "/" + p[0] + "/" + p[1]);
            ex.sendResponseHeaders(302, -1);
            ex.close();
            return 302;
        }
        return send(ex, 404, "{\"error\":\"not found\"}");
    }

    /** As the Hub: a private repo needs a token with access; a malformed (unknown) token is refused even on a public one. */
    private int authorize(HttpExchange ex, Repo r) {
        String h = ex.getRequestHeaders().getFirst("Authorization");
        String token = h != null && h.startsWith("Bearer ") ? h.substring(7) : null;
        if (token != null && token.startsWith("sk-")) {
            return 401; // not a Hub token at all
        }
        if (!r.isPrivate) {
            return 200;
        }
        if (token == null) {
            return 401;
        }
        return r.tokens.contains(token) ? 200 : 401;
    }

    private static int send(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
        return status;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String sha1(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
