package dev.loraxj.adapter;

import dev.loraxj.SharedAssets;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pbase source against a fake Predibase gateway on 127.0.0.1 and s3proxy holding the adapters. */
class PredibaseAdapterSourceTest {

    static final String BUCKET = "predibase-models";
    static final String ALICE = "pb-alice-token";
    static final String BOB = "pb-bob-token";
    static final String SERVER = "pb-server-token";
    static final String UUID = "7f0c5e1e-3b2a-4c55-9a43-0d1c2b3a4f5e";

    static S3ProxyServer s3;
    static PredibaseFakeGateway gateway;

    @TempDir
    Path cache;
    PredibaseAdapterSource pbase;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3ProxyServer.start();
        s3.createBucket(BUCKET);
        s3.upload(SharedAssets.adapter("lora-name-max"), BUCKET, "adapters/names/3");
        s3.upload(SharedAssets.adapter("lora-name-sue"), BUCKET, UUID + "/42/artifacts/model/model_weights");
        s3.upload(SharedAssets.adapter("lora-synth-1"), BUCKET, UUID + "/41/artifacts/model/model_weights");
        gateway = PredibaseFakeGateway.start()
                .grant(ALICE, "names", "old-names", "wip").grant(BOB, "other").grant(SERVER, "names")
                .version("names", "3", "completed", "s3://" + BUCKET + "/adapters/names/3")
                .legacy("old-names", "2", UUID, 42).legacy("old-names", null, UUID, 41)
                .version("wip", "1", "training", null);
    }

    @AfterAll
    static void stop() throws Exception {
        gateway.close();
        s3.close();
    }

    @BeforeEach
    void source() {
        S3AdapterSource s3Source = new S3AdapterSource(s3::client, cache, new SimpleMeterRegistry());
        pbase = new PredibaseAdapterSource(gateway.uri(), ApiToken.of(SERVER), BUCKET, Duration.ofSeconds(10), s3Source);
    }

    static void assertSameFiles(String sharedName, Path dir) throws IOException {
        Path shared = SharedAssets.adapter(sharedName);
        for (String name : List.of("adapter_config.json", "adapter_model.safetensors")) {
            assertArrayEquals(Files.readAllBytes(shared.resolve(name)), Files.readAllBytes(dir.resolve(name)), name);
        }
    }

    @Test
    void aVersionResolvesThroughV2AndLoadsFromS3() throws IOException {
        Path dir = pbase.fetch(AdapterRef.of("names/3", "pbase"), ApiToken.of(ALICE));
        assertSameFiles("lora-name-max", dir);
        assertEquals(new PredibaseFakeGateway.Seen("/v2/repos/names/version/3", ALICE), gateway.seen().getLast());
    }

    @Test
    void aVersionV2DoesNotKnowFallsBackToTheLegacyEndpoint() throws IOException {
        Path dir = pbase.fetch(AdapterRef.of("old-names/2", "pbase"), ApiToken.of(ALICE));
        assertSameFiles("lora-name-sue", dir);
        List<PredibaseFakeGateway.Seen> seen = gateway.seen();
        assertEquals("/v2/repos/old-names/version/2", seen.get(seen.size() - 2).path());
        assertEquals("/v1/models/version/name/old-names?version=2", seen.getLast().path());
    }

    @Test
    void aBareRepoIsItsLatestVersionThroughTheLegacyEndpoint() throws IOException {
        Path dir = pbase.fetch(AdapterRef.of("old-names", "pbase"), ApiToken.of(ALICE));
        assertSameFiles("lora-synth-1", dir);
        assertEquals(new PredibaseFakeGateway.Seen("/v1/models/version/name/old-names", ALICE), gateway.seen().getLast());
    }

    @Test
    void theServersTokenDownloadsWhenTheRequestHasNone() throws IOException {
        assertSameFiles("lora-name-max", pbase.fetch(AdapterRef.of("names/3", "pbase"), null));
        assertEquals(SERVER, gateway.seen().getLast().token());
        S3AdapterSource s3Source = new S3AdapterSource(s3::client, cache, null);
        PredibaseAdapterSource noServerToken = new PredibaseAdapterSource(gateway.uri(), null, BUCKET, Duration.ofSeconds(10), s3Source);
        AdapterAccessException e = assertThrows(AdapterAccessException.class, () -> noServerToken.fetch(AdapterRef.of("names/3", "pbase"), null));
        assertTrue(e.missingToken());
        assertTrue(e.getMessage().contains("PREDIBASE_API_TOKEN"), e.getMessage());
    }

    @Test
    void authorizeAsksTheGatewayWithTheCallersToken() {
        assertTrue(pbase.checksCallers());
        AdapterRef names = AdapterRef.of("names/3", "pbase");
        assertDoesNotThrow(() -> pbase.authorize(names, ApiToken.of(ALICE)));
        assertDoesNotThrow(() -> pbase.authorize(AdapterRef.of("old-names/2", "pbase"), ApiToken.of(ALICE)));

        AdapterAccessException none = assertThrows(AdapterAccessException.class, () -> pbase.authorize(names, null));
        assertTrue(none.missingToken(), "no token: 401 even though the server has one");
        AdapterAccessException invalid = assertThrows(AdapterAccessException.class, () -> pbase.authorize(names, ApiToken.of("pb-made-up")));
        assertTrue(invalid.missingToken(), "a token Predibase does not know: 401");
        AdapterAccessException refused = assertThrows(AdapterAccessException.class, () -> pbase.authorize(names, ApiToken.of(BOB)));
        assertFalse(refused.missingToken(), "a valid token without access: 403");
        for (AdapterAccessException e : List.of(none, invalid, refused)) {
            for (String token : List.of(ALICE, BOB, SERVER, "pb-made-up")) {
                assertFalse(e.getMessage().contains(token), e.getMessage());
            }
        }
    }

    @Test
    void anAdapterStillTrainingOrUnknownIsAClearError() {
        AdapterException wip = assertThrows(AdapterException.class, () -> pbase.fetch(AdapterRef.of("wip/1", "pbase"), ApiToken.of(ALICE)));
        assertTrue(wip.getMessage().contains("has not completed training (status: training)"), wip.getMessage());
        AdapterException missing = assertThrows(AdapterException.class, () -> pbase.fetch(AdapterRef.of("names/9", "pbase"), ApiToken.of(ALICE)));
        assertFalse(missing instanceof AdapterAccessException);
        assertTrue(missing.getMessage().contains("Predibase has no adapter names/9 (v2: HTTP 404, v1: HTTP 404)"), missing.getMessage());
        AdapterException bad = assertThrows(AdapterException.class, () -> pbase.fetch(AdapterRef.of("a/b/c", "pbase"), ApiToken.of(ALICE)));
        assertTrue(bad.getMessage().contains("model_repo/model_version"), bad.getMessage());
    }

    @Test
    void anUnreachableGatewayIsNamed() throws IOException {
        int closedPort;
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        PredibaseAdapterSource offline = new PredibaseAdapterSource(URI.create("http://127.0.0.1:" + closedPort), null, null,
                Duration.ofSeconds(5), new S3AdapterSource(s3::client, cache, null));
        AdapterException e = assertThrows(AdapterException.class, () -> offline.fetch(AdapterRef.of("names/3", "pbase"), ApiToken.of(ALICE)));
        assertTrue(e.getMessage().contains("cannot reach the Predibase gateway at http://127.0.0.1:" + closedPort), e.getMessage());
        assertFalse(e.getMessage().contains(ALICE));
    }
}
