package dev.loraxj.adapter;

import dev.loraxj.config.LoraxjConfig;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * {@code adapter_source: "s3"}: the id is {@code s3://bucket/prefix} or {@code bucket/prefix}; the
 * prefix's top-level files (sub-folders skipped) are downloaded into the cache and kept there, and a
 * later load downloads only files whose size or ETag changed. The client is Quarkus's (quarkus.s3.*:
 * the AWS credential chain, S3_ENDPOINT_URL, path-style access), built on first use so the server
 * starts without any AWS setup.
 */
@ApplicationScoped
public class S3AdapterSource implements AdapterSource {

    private static final Logger LOG = Logger.getLogger(S3AdapterSource.class);
    private static final Pattern BUCKET = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private final Supplier<S3Client> client;
    private final Path cache;
    private final MeterRegistry registry;
    private final Map<Path, Object> locks = new ConcurrentHashMap<>();

    @Inject
    public S3AdapterSource(LoraxjConfig config, Instance<S3Client> client, MeterRegistry registry) {
        this(client::get, defaultCache(config), registry);
    }

    /** A source over {@code client} that keeps adapters under {@code cache}; {@code registry} may be null. */
    public S3AdapterSource(Supplier<S3Client> client, Path cache, MeterRegistry registry) {
        this.client = client;
        this.cache = cache.toAbsolutePath().normalize();
        this.registry = registry;
    }

    /** {@code loraxj.s3.cache}, else {@code s3} beside the Hub cache, as huggingface_hub places it. */
    static Path defaultCache(LoraxjConfig config) {
        if (config.s3().cache().isPresent()) {
            return Path.of(config.s3().cache().get());
        }
        Path hubParent = config.hub().cache().map(c -> Path.of(c).toAbsolutePath().getParent()).orElse(null);
        if (hubParent == null) {
            String home = System.getenv("HF_HOME");
            hubParent = home != null && !home.isEmpty() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".cache", "huggingface");
        }
        return hubParent.resolve("s3");
    }

    @Override
    public String name() {
        return "s3";
    }

    @Override
    public Path fetch(AdapterRef ref, ApiToken token) {
        return fetch(ref.id(), "s3");
    }

    /** An S3 location as the pbase source resolves it; {@code source} tags the download metrics. */
    Path fetch(String id, String source) {
        Location at = Location.parse(id);
        Path dir = cache.resolve(at.bucket()).resolve(URLEncoder.encode(at.prefix(), StandardCharsets.UTF_8)).normalize();
        if (!dir.startsWith(cache) || dir.equals(cache)) {
            throw new AdapterException("s3 adapter " + id + " is not a valid s3://bucket/prefix");
        }
        // loads of one location share its files (s3 and pbase may name the same adapter)
        synchronized (locks.computeIfAbsent(dir, d -> new Object())) {
            return sync(at, dir, source);
        }
    }

    private Path sync(Location at, Path dir, String source) {
        S3Manifest cached = S3Manifest.read(dir);
        Map<String, S3Object> remote;
        try {
            remote = list(at);
        } catch (AdapterException e) {
            if (e.getCause() instanceof SdkClientException && cached.complete() && cached.allPresent(dir)) {
                // S3 unreachable (network, no credentials): the copy we have is still the adapter
                LOG.warnf("s3: %s: %s; serving the cached copy", at, e.getMessage());
                return dir;
            }
            throw e;
        }
        if (remote.isEmpty()) {
            throw new AdapterNotFoundException("s3 adapter " + at + " has no files (nothing directly under " + at + "/)");
        }
        int downloaded = 0;
        try {
            for (Map.Entry<String, S3Object> e : remote.entrySet()) {
                String name = e.getKey();
                S3Object object = e.getValue();
                if (cached.matches(dir, name, object.size(), object.eTag())) {
                    continue;
                }
                cached.complete(false);
                download(at, name, dir, source, cached);
                downloaded++;
            }
            List<String> gone = cached.namesNotIn(remote.keySet());
            for (String name : gone) {
                Files.deleteIfExists(dir.resolve(name));
                cached.remove(name);
            }
            if (!cached.complete() || !gone.isEmpty()) {
                cached.complete(true);
                cached.write(dir);
            }
        } catch (IOException e) {
            LOG.warnf("cannot download s3 adapter %s into %s: %s", at, dir, e.toString());
            throw new AdapterException("cannot download s3 adapter " + at + " (" + e.getClass().getSimpleName() + "; see the server log)", e);
        }
        LOG.logf(downloaded > 0 ? Logger.Level.INFO : Logger.Level.DEBUG, "s3: %s: %d files, %d downloaded into %s",
                at, remote.size(), downloaded, dir);
        return dir;
    }

    /** The prefix's top-level objects by file name; sub-folders and hidden names are skipped. */
    private Map<String, S3Object> list(Location at) {
        Map<String, S3Object> files = new LinkedHashMap<>();
        String continuation = null;
        do {
            ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(at.bucket()).prefix(at.prefix() + "/")
                    .delimiter("/").continuationToken(continuation).build();
            ListObjectsV2Response page = call(at, () -> client.get().listObjectsV2(request));
            for (S3Object o : page.contents()) {
                String name = o.key().substring(at.prefix().length() + 1);
                if (!name.isEmpty() && !name.startsWith(".") && !name.contains("/")) {
                    files.put(name, o);
                }
            }
            continuation = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
        } while (continuation != null);
        return files;
    }

    private void download(Location at, String name, Path dir, String source, S3Manifest cached) throws IOException {
        String key = at.prefix() + "/" + name;
        try (ResponseInputStream<GetObjectResponse> in = call(at, () -> client.get().getObject(b -> b.bucket(at.bucket()).key(key)))) {
            GetObjectResponse meta = in.response();
            long size = meta.contentLength() == null ? -1 : meta.contentLength();
            try {
                Transfer.copy(in, dir.resolve(name), size, source, at + "/" + name, registry);
            } catch (SdkClientException e) {
                throw new IOException(reason(e), e); // the connection broke while reading
            }
            cached.put(name, Files.size(dir.resolve(name)), meta.eTag());
            cached.write(dir); // after each file, so an interrupted load keeps what it finished
        }
    }

    /** Runs one S3 call, turning SDK failures into messages that name the bucket and never a credential. */
    private <T> T call(Location at, Supplier<T> request) {
        try {
            return request.get();
        } catch (S3Exception e) {
            throw e.statusCode() == 404 ? new AdapterNotFoundException(describe(at, e)) : new AdapterException(describe(at, e), e);
        } catch (SdkClientException e) {
            throw new AdapterException("cannot reach S3 for bucket " + at.bucket() + ": " + reason(e), e);
        } catch (RuntimeException e) {
            // the client is built on first use: a missing region or a bad endpoint fails here
            SdkClientException cause = causeOf(e);
            if (cause == null) {
                throw e;
            }
            throw new AdapterException("cannot reach S3 for bucket " + at.bucket() + ": " + reason(cause), cause);
        }
    }

    /** The SDK's message, shortened to what to set when it is the region or the credentials that are missing. */
    static String reason(SdkClientException e) {
        String m = String.valueOf(e.getMessage());
        if (m.startsWith("Unable to load region")) {
            return "no AWS region is configured: set AWS_REGION (or quarkus.s3.aws.region)";
        }
        if (m.startsWith("Unable to load credentials")) {
            return "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or a role";
        }
        return m;
    }

    private static SdkClientException causeOf(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SdkClientException s) {
                return s;
            }
        }
        return null;
    }

    static String describe(Location at, S3Exception e) {
        String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
        String what = code == null ? "HTTP " + e.statusCode() : code + ", HTTP " + e.statusCode();
        return switch (e.statusCode()) {
            case 401, 403 -> "S3 refused access to bucket " + at.bucket() + " (" + what + "): check the server's AWS credentials"
                    + " (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and the bucket's policy";
            case 404 -> "NoSuchBucket".equals(code) ? "S3 bucket " + at.bucket() + " does not exist"
                    : "s3 adapter " + at + " not found (" + what + ")";
            case 301 -> "S3 bucket " + at.bucket() + " is in another region (" + what + "): set AWS_REGION to the bucket's region";
            default -> "S3 failed for bucket " + at.bucket() + " (" + what + ")";
        };
    }

    /** A bucket and a prefix without its trailing slash. */
    record Location(String bucket, String prefix) {

        static Location parse(String id) {
            String rest = id.startsWith("s3://") ? id.substring(5) : id;
            while (rest.endsWith("/")) {
                rest = rest.substring(0, rest.length() - 1);
            }
            int slash = rest.indexOf('/');
            if (slash <= 0 || slash == rest.length() - 1) {
                throw new AdapterException("s3 adapter id " + id + " must be s3://bucket/prefix or bucket/prefix");
            }
            String bucket = rest.substring(0, slash);
            String prefix = rest.substring(slash + 1);
            if (!BUCKET.matcher(bucket).matches()) {
                throw new AdapterException("s3 adapter id " + id + ": " + bucket + " is not a bucket name");
            }
            for (String segment : prefix.split("/", -1)) {
                if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                    throw new AdapterException("s3 adapter id " + id + " has an empty, . or .. segment");
                }
            }
            return new Location(bucket, prefix);
        }

        @Override
        public String toString() {
            return "s3://" + bucket + "/" + prefix;
        }
    }
}
