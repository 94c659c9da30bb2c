package dev.loraxj.adapter;

import dev.loraxj.TestFiles;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/** An S3 server in this JVM (s3proxy over a temporary directory), listening on 127.0.0.1 only. */
public final class S3ProxyServer implements AutoCloseable {

    public static final String ACCESS_KEY = "loraxj-test-access";
    public static final String SECRET_KEY = "loraxj-test-secret-do-not-print";
    public static final String REGION = "us-east-1";

    private final S3Proxy proxy;
    private final Path root;
    private final URI endpoint;
    private final S3Client client;

    private S3ProxyServer(S3Proxy proxy, Path root) {
        this.proxy = proxy;
        this.root = root;
        this.endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
        this.client = client(ACCESS_KEY, SECRET_KEY);
    }

    public static S3ProxyServer start() throws Exception {
        Path root = TestFiles.dir("loraxj-s3proxy");
        S3Proxy proxy = S3Proxy.builder().blobStore(new FilesystemNio2BlobStore(root.toString()))
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY).build();
        proxy.start();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!"STARTED".equals(proxy.getState()) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return new S3ProxyServer(proxy, root);
    }

    public URI endpoint() {
        return endpoint;
    }

    /** A client with the server's credentials, for setting up test data. */
    public S3Client client() {
        return client;
    }

    /** A path-style client for this server with the given credentials, as the sources' tests use. */
    public S3Client client(String accessKey, String secretKey) {
        return client(endpoint, accessKey, secretKey);
    }

    public static S3Client client(URI endpoint, String accessKey, String secretKey) {
        return S3Client.builder().endpointOverride(endpoint).forcePathStyle(true).region(Region.of(REGION))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClient(UrlConnectionHttpClient.create()).build();
    }

    public void createBucket(String bucket) {
        retried(() -> client.createBucket(b -> b.bucket(bucket)));
    }

    public void put(String bucket, String key, byte[] bytes) {
        retried(() -> client.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(bytes)));
    }

    public void delete(String bucket, String key) {
        retried(() -> client.deleteObject(b -> b.bucket(bucket).key(key)));
    }

    /**
     * Test-data writes, each idempotent, tried up to 5 times. The URL-connection client sends PUTs with
     * {@code Expect: 100-continue}, and when its pooled connection has been closed it fails with "Unexpected end of file
     * from server" as an UncheckedIOException that the SDK's retries never see (about one suite start in five here).
     */
    private static void retried(Runnable write) {
        for (int attempt = 1; ; attempt++) {
            try {
                write.run();
                return;
            } catch (java.io.UncheckedIOException | software.amazon.awssdk.core.exception.SdkClientException e) {
                if (attempt == 5) {
                    throw e;
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /** Uploads the regular files of {@code dir} under {@code prefix/}. */
    public void upload(Path dir, String bucket, String prefix) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                put(bucket, prefix + "/" + f.getFileName(), Files.readAllBytes(f));
            }
        }
    }

    @Override
    public void close() throws Exception {
        client.close();
        proxy.stop();
        TestFiles.deleteTree(root);
    }
}
