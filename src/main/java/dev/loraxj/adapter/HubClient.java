package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The Hugging Face Hub's HTTP API and huggingface_hub's cache layout
 * ({@code models--org--name/{blobs,refs,snapshots/<sha>}}), so a cache filled by either is used by
 * the other as is. Files are written atomically; transient failures are retried with backoff.
 */
public final class HubClient {

    private static final Logger LOG = Logger.getLogger(HubClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A repository at a commit: its sha and its files. */
    public record ModelInfo(String repo, String sha, List<String> files) {
    }

    /** The Hub answered with an error status. */
    public static final class HubStatusException extends RuntimeException {
        private final int status;

        HubStatusException(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    private final URI endpoint;
    private final Path cache;
    private final boolean offline;
    private final int attempts;
    private final MeterRegistry registry;
    private final HttpClient http;

    public HubClient(String endpoint, Path cache, boolean offline, int attempts, MeterRegistry registry) {
        this(endpoint, cache, offline, attempts, Duration.ofSeconds(5), registry);
    }

    public HubClient(String endpoint, Path cache, boolean offline, int attempts, Duration connectTimeout, MeterRegistry registry) {
        this.endpoint = URI.create(endpoint.endsWith("/") ? endpoint : endpoint + "/");
        this.cache = cache;
        this.offline = offline;
        this.attempts = Math.max(1, attempts);
        this.registry = registry;
        this.http = HttpClient.newBuilder().connectTimeout(connectTimeout).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** What a failed attempt reports while the next one waits (the model's loading status shows it). */
    public interface Retries {
        Retries NONE = problem -> {
        };

        void failed(String problem);
    }

    /** The cache directory: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub. */
    public static Path defaultCache() {
        String hubCache = System.getenv("HF_HUB_CACHE");
        if (hubCache != null && !hubCache.isEmpty()) {
            return Path.of(hubCache);
        }
        String home = System.getenv("HF_HOME");
        if (home != null && !home.isEmpty()) {
            return Path.of(home, "hub");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub");
    }

    public boolean offline() {
        return offline;
    }

    /** {@code GET /api/models/{repo}[/revision/{rev}]} with the token (null for none). */
    public ModelInfo info(String repo, String revision, ApiToken token) {
        return info(repo, revision, token, Retries.NONE);
    }

    public ModelInfo info(String repo, String revision, ApiToken token, Retries retries) {
        checkRepo(repo);
        String path = "api/models/" + repo + (revision == null ? "" : "/revision/" + encode(revision));
        HttpResponse<InputStream> r = send(path, token, repo, retries);
        try (InputStream body = r.body()) {
            JsonNode j = JSON.readTree(body);
            String sha = j.path("sha").asText(null);
            if (sha == null) {
                throw new AdapterException("the Hub's model info for " + repo + " has no commit sha");
            }
            List<String> files = new ArrayList<>();
            j.path("siblings").forEach(s -> files.add(s.path("rfilename").asText()));
            return new ModelInfo(repo, sha, files);
        } catch (IOException e) {
            throw new AdapterException("cannot read the Hub's model info for " + repo + ": " + e.getMessage(), e);
        }
    }

    /**
     * The snapshot directory of {@code repo} at {@code revision} holding every file {@code wanted}
     * selects among {@code info}'s files, downloading what the cache lacks.
     */
    public Path snapshot(ModelInfo info, String revision, ApiToken token, List<String> wanted) {
        return snapshot(info, revision, token, wanted, Retries.NONE);
    }

    public Path snapshot(ModelInfo info, String revision, ApiToken token, List<String> wanted, Retries retries) {
        Path repoDir = cache.resolve(folder(info.repo()));
        Path snap = repoDir.resolve("snapshots").resolve(info.sha());
        try {
            for (String file : wanted) {
                if (file.startsWith("/") || file.contains("..") || file.contains("\\")) {
                    throw new AdapterException("the Hub listed an unsafe file name in " + info.repo() + ": " + file);
                }
                Path target = snap.resolve(file);
                if (Files.exists(target)) {
                    continue;
                }
                download(info, file, token, repoDir, target, retries);
            }
            writeRef(repoDir, revision == null ? "main" : revision, info.sha());
            return snap;
        } catch (IOException e) {
            LOG.warnf("cannot write the Hub cache for %s under %s: %s", info.repo(), cache, e.toString());
            throw new AdapterException("cannot write the Hub cache for " + info.repo() + " (" + e.getClass().getSimpleName() + "; see the server log)", e);
        }
    }

    /** The cached snapshot of {@code repo} at {@code revision} (a branch, tag or commit), if any. */
    public Optional<Path> cached(String repo, String revision) {
        checkRepo(repo);
        Path repoDir = cache.resolve(folder(repo));
        String rev = revision == null ? "main" : revision;
        String sha = rev;
        if (!rev.matches("[0-9a-f]{40}")) {
            Path ref = repoDir.resolve("refs").resolve(rev);
            if (!Files.isRegularFile(ref)) {
                return Optional.empty();
            }
            try {
                sha = Files.readString(ref).trim();
            } catch (IOException e) {
                return Optional.empty();
            }
        }
        Path snap = repoDir.resolve("snapshots").resolve(sha);
        return Files.isDirectory(snap) ? Optional.of(snap) : Optional.empty();
    }

    private void download(ModelInfo info, String file, ApiToken token, Path repoDir, Path target, Retries retries) throws IOException {
        String path = info.repo() + "/resolve/" + info.sha() + "/" + encodePath(file);
        HttpResponse<InputStream> r = send(path, token, info.repo() + "/" + file, retries);
        long length = r.headers().firstValueAsLong("x-linked-size")
                .orElse(r.headers().firstValueAsLong("content-length").orElse(-1));
        String etag = r.headers().firstValue("x-linked-etag").or(() -> r.headers().firstValue("etag")).orElse(null);
        Path blobs = repoDir.resolve("blobs");
        Path tmpBlob = blobs.resolve("download-" + Long.toHexString(System.nanoTime()));
        try (InputStream in = r.body()) {
            Transfer.copy(in, tmpBlob, length, "hub", info.repo() + "/" + file, registry);
        }
        String blobName = etag != null ? etag.replace("W/", "").replace("\"", "") : sha256(tmpBlob);
        Path blob = blobs.resolve(blobName);
        Files.move(tmpBlob, blob, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Files.createDirectories(target.getParent());
        Path link = target.getParent().relativize(blob);
        Path tmpLink = target.resolveSibling("." + target.getFileName() + ".link");
        Files.deleteIfExists(tmpLink);
        Files.createSymbolicLink(tmpLink, link);
        Files.move(tmpLink, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static void writeRef(Path repoDir, String revision, String sha) throws IOException {
        if (revision.equals(sha)) {
            return;
        }
        Path ref = repoDir.resolve("refs").resolve(revision);
        Files.createDirectories(ref.getParent());
        Path tmp = ref.resolveSibling("." + ref.getFileName() + ".tmp");
        Files.writeString(tmp, sha);
        Files.move(tmp, ref, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** GET with retries on network errors, 5xx and 429; other statuses fail at once. Follows redirects. */
    private HttpResponse<InputStream> send(String path, ApiToken token, String what, Retries retries) {
        if (offline) {
            throw new AdapterException("the Hub is not reachable in offline mode (HF_HUB_OFFLINE): " + what + " is not in the cache");
        }
        IOException lastIo = null;
        HubStatusException lastStatus = null;
        long backoff = 200;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            lastIo = null;
            lastStatus = null;
            try {
                HttpResponse<InputStream> r = follow(endpoint.resolve(path), token);
                int code = r.statusCode();
                if (code == 200) {
                    return r;
                }
                r.body().close();
                lastStatus = new HubStatusException(code, "the Hub answered " + code + " for " + what);
                if (code < 500 && code != 429) {
                    throw lastStatus;
                }
            } catch (IOException e) {
                lastIo = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AdapterException("interrupted while fetching " + what + " from the Hub");
            }
            if (attempt < attempts) {
                String cause = lastIo != null ? describe(lastIo) : lastStatus.getMessage();
                LOG.warnf("Hub request for %s failed (attempt %d of %d: %s), retrying in %d ms", what, attempt, attempts, cause, backoff);
                retries.failed("attempt " + attempt + " of " + attempts + " failed (" + cause + "), retrying in " + backoff + " ms");
                sleep(backoff);
                backoff *= 2;
            }
        }
        if (lastStatus != null) {
            throw lastStatus;
        }
        throw new AdapterException("cannot reach the Hub at " + endpoint + " for " + what + " after " + attempts
                + (attempts == 1 ? " attempt: " : " attempts: ") + describe(lastIo), lastIo);
    }

    /**
     * A network failure in words: the JDK's connect failures carry no message of their own (a refused
     * connection is a ConnectException whose message is null), so the causes are named too.
     */
    static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Throwable t = e; t != null && sb.length() < 300; t = t.getCause()) {
            String part = t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
            if (seen.add(part)) {
                sb.append(sb.isEmpty() ? "" : " <- ").append(part);
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return sb.toString();
    }

    /** Follows up to 5 redirects; the token goes only to the Hub's own host. */
    private HttpResponse<InputStream> follow(URI uri, ApiToken token) throws IOException, InterruptedException {
        for (int hop = 0; hop < 6; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).GET()
                    .header("User-Agent", "loraxj");
            if (token != null && sameHost(uri)) {
                b.header("Authorization", "Bearer " + token.reveal());
            }
            HttpResponse<InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            int code = r.statusCode();
            if (code / 100 != 3 || r.headers().firstValue("location").isEmpty()) {
                return r;
            }
            r.body().close();
            uri = uri.resolve(r.headers().firstValue("location").get());
        }
        throw new IOException("too many redirects");
    }

    private boolean sameHost(URI uri) {
        return uri.getHost() != null && uri.getHost().equalsIgnoreCase(endpoint.getHost()) && uri.getPort() == endpoint.getPort();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** huggingface_hub's folder name: models--org--name. */
    static String folder(String repo) {
        return "models--" + repo.replace("/", "--");
    }

    private static void checkRepo(String repo) {
        if (!repo.matches("[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?") || repo.contains("..")) {
            throw new AdapterException("invalid Hub repo id: " + repo);
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String encodePath(String file) {
        StringBuilder sb = new StringBuilder();
        for (String part : file.split("/")) {
            if (!sb.isEmpty()) {
                sb.append('/');
            }
            sb.append(encode(part).replace("+", "%20"));
        }
        return sb.toString();
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
