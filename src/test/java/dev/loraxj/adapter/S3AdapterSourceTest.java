package dev.loraxj.adapter;

import dev.loraxj.SharedAssets;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The s3 source against a real S3 server (s3proxy on 127.0.0.1) holding the shared adapters. */
class S3AdapterSourceTest {

    static final String BUCKET = "adapters";
    static S3ProxyServer s3;

    @TempDir
    Path cache;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @BeforeAll
    static void upload() throws Exception {
        s3 = S3ProxyServer.start();
        s3.createBucket(BUCKET);
        for (String name : List.of("lora-name-max", "medusa-v2-lora-max")) {
            s3.upload(SharedAssets.adapter(name), BUCKET, "stories260K/" + name);
        }
        // a sub-folder and a look-alike prefix: neither belongs to lora-name-max
        s3.put(BUCKET, "stories260K/lora-name-max/checkpoint-10/adapter_model.safetensors", new byte[] {1, 2, 3});
        s3.put(BUCKET, "stories260K/lora-name-max-old/adapter_config.json", "{}".getBytes(StandardCharsets.UTF_8));
    }

    @AfterAll
    static void stop() throws Exception {
        s3.close();
    }

    S3AdapterSource source(S3Client client) {
        return new S3AdapterSource(() -> client, cache, registry);
    }

    double downloadedBytes() {
        Counter c = registry.find("loraxj_adapter_download_bytes").tag("source", "s3").counter();
        return c == null ? 0 : c.count();
    }

    static Set<String> names(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> !n.startsWith(".")).collect(Collectors.toSet());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"s3://adapters/stories260K/lora-name-max", "adapters/stories260K/lora-name-max",
            "s3://adapters/stories260K/lora-name-max/"})
    void fetchDownloadsTheTopLevelFilesOfThePrefix(String id) throws IOException {
        Path dir = source(s3.client()).fetch(AdapterRef.of(id, "s3"), null);
        Path shared = SharedAssets.adapter("lora-name-max");
        assertEquals(Set.of("adapter_config.json", "adapter_model.safetensors"), names(dir), "sub-folders are skipped");
        for (String name : names(dir)) {
            assertArrayEquals(Files.readAllBytes(shared.resolve(name)), Files.readAllBytes(dir.resolve(name)), name);
        }
        assertTrue(dir.startsWith(cache));
        assertEquals(Files.size(shared.resolve("adapter_config.json")) + Files.size(shared.resolve("adapter_model.safetensors")),
                downloadedBytes(), 0.0);
    }

    @Test
    void medusaAndLoraFilesComeTogether() throws IOException {
        Path dir = source(s3.client()).fetch(AdapterRef.of("s3://adapters/stories260K/medusa-v2-lora-max", "s3"), null);
        assertEquals(Set.of("adapter_config.json", "adapter_model.safetensors", "config.json", "medusa_lm_head.safetensors"), names(dir));
    }

    @Test
    void aSecondLoadOfAnUnchangedAdapterDownloadsNothing() throws IOException {
        S3AdapterSource source = source(s3.client());
        AdapterRef ref = AdapterRef.of("s3://adapters/stories260K/lora-name-max", "s3");
        Path dir = source.fetch(ref, null);
        double first = downloadedBytes();
        var modified = Files.getLastModifiedTime(dir.resolve("adapter_model.safetensors"));
        assertEquals(dir, source.fetch(ref, null));
        assertEquals(first, downloadedBytes(), 0.0);
        assertEquals(modified, Files.getLastModifiedTime(dir.resolve("adapter_model.safetensors")));
        // a new source over the same cache (a restarted server) trusts it too
        assertEquals(dir, new S3AdapterSource(s3::client, cache, registry).fetch(ref, null));
        assertEquals(first, downloadedBytes(), 0.0);
    }

    @Test
    void aChangedOrRemovedFileIsDownloadedAgainOrRemoved() throws IOException {
        S3AdapterSource source = source(s3.client());
        String prefix = "changing/lora";
        s3.upload(SharedAssets.adapter("lora-name-sue"), BUCKET, prefix);
        s3.put(BUCKET, prefix + "/notes.txt", "v1".getBytes(StandardCharsets.UTF_8));
        AdapterRef ref = AdapterRef.of(BUCKET + "/" + prefix, "s3");
        Path dir = source.fetch(ref, null);
        assertEquals("v1", Files.readString(dir.resolve("notes.txt")));
        double before = downloadedBytes();
        s3.put(BUCKET, prefix + "/notes.txt", "v2!".getBytes(StandardCharsets.UTF_8));
        s3.delete(BUCKET, prefix + "/adapter_config.json");
        source.fetch(ref, null);
        assertEquals("v2!", Files.readString(dir.resolve("notes.txt")));
        assertFalse(Files.exists(dir.resolve("adapter_config.json")), "removed upstream: removed from the cache");
        assertEquals(before + 3, downloadedBytes(), 0.0, "only the changed file is downloaded");
    }

    @Test
    void wrongCredentialsNameTheBucketAndNeverTheKeys() {
        String wrongSecret = "wrong-secret-must-not-leak";
        try (S3Client wrong = s3.client("wrong-access-key-id", wrongSecret)) {
            AdapterException e = assertThrows(AdapterException.class,
                    () -> source(wrong).fetch(AdapterRef.of("s3://adapters/stories260K/lora-name-max", "s3"), null));
            assertTrue(e.getMessage().contains("bucket adapters"), e.getMessage());
            assertTrue(e.getMessage().contains("credentials"), e.getMessage());
            for (String secret : List.of(wrongSecret, "wrong-access-key-id", S3ProxyServer.SECRET_KEY)) {
                assertFalse(e.getMessage().contains(secret), e.getMessage());
            }
        }
    }

    @Test
    void aMissingBucketOrPrefixIsAClearError() {
        S3AdapterSource source = source(s3.client());
        AdapterException noBucket = assertThrows(AdapterException.class, () -> source.fetch(AdapterRef.of("s3://no-such-bucket/x", "s3"), null));
        assertTrue(noBucket.getMessage().contains("bucket no-such-bucket does not exist"), noBucket.getMessage());
        AdapterException noPrefix = assertThrows(AdapterException.class, () -> source.fetch(AdapterRef.of("adapters/nothing/here", "s3"), null));
        assertTrue(noPrefix.getMessage().contains("has no files"), noPrefix.getMessage());
    }

    @Test
    void aMissingRegionOrCredentialsSaysWhatToSet() {
        assertTrue(S3AdapterSource.reason(SdkClientException.create("Unable to load region from any of the providers in the chain x"))
                .contains("set AWS_REGION"));
        assertTrue(S3AdapterSource.reason(SdkClientException.create("Unable to load credentials from any of the providers"))
                .contains("AWS_ACCESS_KEY_ID"));
        assertEquals("Connection refused", S3AdapterSource.reason(SdkClientException.create("Connection refused")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"s3://adapters", "adapters", "s3://adapters/", "s3://adapters/../etc", "adapters/a//b", "s3:///x", "bad bucket/x"})
    void idsThatAreNotBucketAndPrefixAreRefused(String id) {
        AdapterException e = assertThrows(AdapterException.class, () -> source(s3.client()).fetch(AdapterRef.of(id, "s3"), null));
        assertTrue(e.getMessage().startsWith("s3 adapter id"), e.getMessage());
    }

    @Test
    void anUnreachableS3ServesTheCachedCopy() throws Exception {
        AdapterRef ref = AdapterRef.of("s3://adapters/stories260K/lora-name-max", "s3");
        Path dir = source(s3.client()).fetch(ref, null);
        int closedPort;
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        try (S3Client unreachable = S3ProxyServer.client(java.net.URI.create("http://127.0.0.1:" + closedPort),
                S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)) {
            assertEquals(dir, source(unreachable).fetch(ref, null));
            AdapterException e = assertThrows(AdapterException.class,
                    () -> source(unreachable).fetch(AdapterRef.of("s3://adapters/stories260K/never-fetched", "s3"), null));
            assertTrue(e.getMessage().contains("cannot reach S3 for bucket adapters"), e.getMessage());
            // an incomplete copy is never served
            Files.delete(dir.resolve("adapter_model.safetensors"));
            assertThrows(AdapterException.class, () -> source(unreachable).fetch(ref, null));
        }
    }
}
