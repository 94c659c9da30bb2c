package dev.loraxj.adapter;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Predibase gateway on 127.0.0.1 answering LoRAX's two lookups: {@code /v2/repos/{repo}/version/{v}}
 * and the legacy {@code /v1/models/version/name/{repo}[?version=v]}. A token it does not know gets
 * 401, a known token without a grant on the repo gets 403, an unknown version 404.
 */
public final class PredibaseFakeGateway implements AutoCloseable {

    /** One request as the gateway saw it: path with query, and the bearer token (null if none). */
    public record Seen(String path, String token) {
    }

    private final HttpServer server;
    private final Map<String, Set<String>> grants = new ConcurrentHashMap<>();
    private final Map<String, String> v2 = new ConcurrentHashMap<>();
    private final Map<String, String> v1 = new ConcurrentHashMap<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();

    private PredibaseFakeGateway(HttpServer server) {
        this.server = server;
    }

    public static PredibaseFakeGateway start() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        PredibaseFakeGateway gateway = new PredibaseFakeGateway(server);
        server.createContext("/", gateway::handle);
        server.start();
        return gateway;
    }

    public URI uri() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Lets {@code token} read {@code repos}. */
    public PredibaseFakeGateway grant(String token, String... repos) {
        grants.computeIfAbsent(token, t -> ConcurrentHashMap.newKeySet()).addAll(List.of(repos));
        return this;
    }

    /** A v2 version answering {@code {"status": status, "adapterPath": path}}. */
    public PredibaseFakeGateway version(String repo, String version, String status, String adapterPath) {
        v2.put(repo + "/" + version, "{\"repo\":\"" + repo + "\",\"tag\":" + version + ",\"status\":\"" + status + "\""
                + (adapterPath == null ? "" : ",\"adapterPath\":\"" + adapterPath + "\"") + "}");
        return this;
    }

    /** A legacy model version ({@code version} null: the repo's latest) with its uuid and best run. */
    public PredibaseFakeGateway legacy(String repo, String version, String uuid, long bestRunId) {
        v1.put(version == null ? repo : repo + "?version=" + version,
                "{\"uuid\":\"" + uuid + "\",\"bestRunID\":" + bestRunId + ",\"name\":\"" + repo + "\"}");
        return this;
    }

    public List<Seen> seen() {
        return seen;
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            URI uri = x.getRequestURI();
            String auth = x.getRequestHeaders().getFirst("Authorization");
            String token = auth != null && auth.startsWith("Bearer ") ? auth.substring(7) : null;
            seen.add(new Seen(uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()), token));
            String path = uri.getRawPath();
            String repo;
            String body;
            if (path.startsWith("/v2/repos/") && path.contains("/version/")) {
                String[] p = path.substring("/v2/repos/".length()).split("/version/", 2);
                repo = decode(p[0]);
                body = v2.get(repo + "/" + decode(p[1]));
            } else if (path.startsWith("/v1/models/version/name/")) {
                repo = decode(path.substring("/v1/models/version/name/".length()));
                String q = uri.getQuery();
                body = v1.get(q != null && q.startsWith("version=") ? repo + "?" + q : repo);
            } else {
                send(x, 404, "{\"error\":\"no such route\"}");
                return;
            }
            Set<String> repos = token == null ? null : grants.get(token);
            if (repos == null) {
                send(x, 401, "{\"error\":\"invalid token\"}");
            } else if (!repos.contains(repo)) {
                send(x, 403, "{\"error\":\"forbidden\"}");
            } else if (body == null) {
                send(x, 404, "{\"error\":\"not found\"}");
            } else {
                send(x, 200, body);
            }
        }
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static void send(HttpExchange x, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", "application/json");
        x.sendResponseHeaders(status, bytes.length);
        x.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
