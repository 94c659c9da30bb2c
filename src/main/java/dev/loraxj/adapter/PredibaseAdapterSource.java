package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.config.LoraxjConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

/**
 * {@code adapter_source: "pbase"}: {@code repo/version} (a bare repo: its latest version) is resolved
 * by the Predibase gateway to an S3 path, then loaded by the s3 source. As LoRAX does: a version is
 * looked up with {@code GET /v2/repos/{repo}/version/{v}} (its {@code adapterPath}, once training
 * completed), falling back to the legacy {@code GET /v1/models/version/name/{repo}?version={v}}
 * (the path built from {@code uuid} and {@code bestRunID}); a bare repo only has the legacy form.
 * The gateway is asked with the caller's token, so it also decides who may use the adapter.
 */
@ApplicationScoped
public class PredibaseAdapterSource implements AdapterSource {

    private static final Logger LOG = Logger.getLogger(PredibaseAdapterSource.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> TRAINING = Set.of("pending", "queued", "training", "stopping");
    private static final Set<String> FAILED = Set.of("stopped", "canceled", "errored");

    private final String gateway;
    private final ApiToken serverToken;
    private final String modelBucket;
    private final Duration timeout;
    private final S3AdapterSource s3;
    private final HttpClient http;

    @Inject
    public PredibaseAdapterSource(LoraxjConfig config, S3AdapterSource s3) {
        this(URI.create(config.predibase().gateway()), ApiToken.of(config.predibase().token().orElse(null)),
                config.predibase().modelBucket().orElse(null), config.predibase().timeout(), s3);
    }

    /**
     * @param serverToken used to download when a request carries no token (may be null)
     * @param modelBucket the bucket of gateway paths without {@code s3://} (may be null)
     */
    public PredibaseAdapterSource(URI gateway, ApiToken serverToken, String modelBucket, Duration timeout, S3AdapterSource s3) {
        String g = gateway.toString();
        this.gateway = g.endsWith("/") ? g.substring(0, g.length() - 1) : g;
        this.serverToken = serverToken;
        this.modelBucket = modelBucket == null || modelBucket.isBlank() ? null : modelBucket;
        this.timeout = timeout;
        this.s3 = s3;
        // never follow redirects: the Authorization header must not travel to another host
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    @Override
    public String name() {
        return "pbase";
    }

    @Override
    public boolean checksCallers() {
        return true;
    }

    @Override
    public void authorize(AdapterRef ref, ApiToken token) {
        if (token == null) {
            throw new AdapterAccessException("pbase adapter " + ref.id() + " needs a Predibase token (parameters.api_token or"
                    + " Authorization: Bearer)", true);
        }
        lookup(ref, token);
    }

    @Override
    public Path fetch(AdapterRef ref, ApiToken token) {
        ApiToken t = token != null ? token : serverToken;
        if (t == null) {
            throw new AdapterAccessException("pbase adapter " + ref.id() + " needs a Predibase token: pass api_token,"
                    + " or set PREDIBASE_API_TOKEN on the server", true);
        }
        String path = s3Path(ref, lookup(ref, t));
        LOG.debugf("pbase: %s is %s", ref.id(), path);
        return s3.fetch(path, "pbase");
    }

    /** The S3 location of a looked-up version, as {@code s3://bucket/prefix} or {@code bucket/prefix}. */
    String s3Path(AdapterRef ref, Found found) {
        String path;
        if (found.legacy()) {
            String uuid = found.json().path("uuid").asText("");
            String run = found.json().path("bestRunID").asText("");
            if (uuid.isEmpty() || run.isEmpty()) {
                throw new AdapterException("pbase adapter " + ref.id() + " has no trained model yet (the gateway gave no uuid"
                        + " and bestRunID)");
            }
            path = uuid + "/" + run + "/artifacts/model/model_weights/";
        } else {
            String status = found.json().path("status").asText("");
            if (TRAINING.contains(status)) {
                throw new AdapterException("pbase adapter " + ref.id() + " has not completed training (status: " + status + ")");
            }
            if (FAILED.contains(status)) {
                throw new AdapterException("pbase adapter " + ref.id() + " did not complete training (status: " + status + ")");
            }
            if (!status.equals("completed")) {
                LOG.warnf("pbase: unknown status %s for adapter %s; loading it anyway", status, ref.id());
            }
            path = found.json().path("adapterPath").asText("");
            if (path.isEmpty()) {
                throw new AdapterException("pbase adapter " + ref.id() + " is not yet available (the gateway gave no adapterPath)");
            }
        }
        return path.startsWith("s3://") || modelBucket == null ? path : "s3://" + modelBucket + "/" + path;
    }

    /** The gateway's answer for {@code ref}: the v2 version if it has one, else the legacy model version. */
    Found lookup(AdapterRef ref, ApiToken token) {
        String[] parts = ref.id().split("/", -1);
        String version = parts.length == 2 ? parts[1] : ref.revision();
        if (parts.length > 2 || parts[0].isEmpty() || (version != null && version.isEmpty())) {
            throw new AdapterException("pbase adapter id " + ref.id() + " must be model_repo or model_repo/model_version");
        }
        String repo = segment(parts[0]);
        Reply v2 = null;
        if (version != null) {
            v2 = get("/v2/repos/" + repo + "/version/" + segment(version), token, ref);
            if (v2.ok()) {
                return new Found(v2.json(), false);
            }
        }
        Reply v1 = get("/v1/models/version/name/" + repo + (version == null ? "" : "?version=" + segment(version)), token, ref);
        if (v1.ok()) {
            return new Found(v1.json(), true);
        }
        Reply refusal = v1.refused() || v2 == null || !v2.refused() ? v1 : v2;
        if (refusal.refused()) {
            boolean missing = refusal.status() == 401;
            throw new AdapterAccessException("Predibase refused " + (missing ? "the token" : "access to adapter " + ref.id())
                    + " (HTTP " + refusal.status() + ")" + (missing ? ": pass a valid Predibase API token" : ""), missing);
        }
        throw new AdapterException("Predibase has no adapter " + ref.id() + " ("
                + (v2 == null ? "" : "v2: " + v2.describe() + ", ") + "v1: " + v1.describe() + ")");
    }

    private Reply get(String path, ApiToken token, AdapterRef ref) {
        URI uri = URI.create(gateway + path);
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "application/json")
                .header("Authorization", "Bearer " + token.reveal()).GET().build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AdapterException("cannot reach the Predibase gateway at " + gateway + " for adapter " + ref.id() + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AdapterException("interrupted while asking the Predibase gateway about adapter " + ref.id(), e);
        }
        int status = response.statusCode();
        if (status / 100 != 2) {
            return new Reply(status, null);
        }
        try {
            return new Reply(status, JSON.readTree(response.body()));
        } catch (IOException e) {
            throw new AdapterException("the Predibase gateway at " + gateway + " answered adapter " + ref.id() + " with something"
                    + " other than JSON", e);
        }
    }

    /** A path segment, percent-encoded (URLEncoder writes spaces as +, which paths do not mean). */
    private static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** The JSON of a successful lookup, and whether it came from the legacy endpoint. */
    record Found(JsonNode json, boolean legacy) {
    }

    private record Reply(int status, JsonNode json) {

        boolean ok() {
            return json != null;
        }

        boolean refused() {
            return status == 401 || status == 403;
        }

        String describe() {
            return "HTTP " + status;
        }
    }
}
