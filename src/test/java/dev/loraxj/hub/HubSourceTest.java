package dev.loraxj.hub;

import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.AdapterAccessException;
import dev.loraxj.adapter.AdapterException;
import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.adapter.ApiToken;
import dev.loraxj.adapter.HubAdapterSource;
import dev.loraxj.adapter.HubClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hub source against a real HTTP server on 127.0.0.1 speaking the Hub's API. */
class HubSourceTest {

    @TempDir
    Path cache;
    FakeHub hub;

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
        hub.add("org/max", SharedAssets.adapter("lora-name-max"));
        hub.add("org/secret", SharedAssets.adapter("lora-name-sue")).privateFor("good-token-123");
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    HubAdapterSource source(boolean offline, String global, boolean useGlobal) {
        return new HubAdapterSource(new HubClient(hub.endpoint(), cache, offline, 5, new SimpleMeterRegistry()),
                ApiToken.of(global), useGlobal);
    }

    @Test
    void downloadsIntoHuggingfaceHubsCacheLayoutAndReusesIt() throws Exception {
        HubAdapterSource s = source(false, null, false);
        Path dir = s.fetch(AdapterRef.of("org/max", "hub"), null);
        Path repo = cache.resolve("models--org--max");
        String sha = Files.readString(repo.resolve("refs/main"));
        assertEquals(repo.resolve("snapshots").resolve(sha), dir);
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
            Path p = dir.resolve(f);
            assertTrue(Files.isSymbolicLink(p), f + " links into blobs/, as huggingface_hub does");
            Path target = Files.readSymbolicLink(p);
            assertFalse(target.isAbsolute(), "relative links survive moving the cache");
            assertTrue(p.toRealPath().startsWith(repo.resolve("blobs").toRealPath()));
            assertArrayEquals(Files.readAllBytes(SharedAssets.adapter("lora-name-max").resolve(f)), Files.readAllBytes(p));
        }
        assertFalse(Files.exists(dir.resolve("training_args.bin")), "training args are skipped");
        assertFalse(Files.exists(dir.resolve("README.md")));
        long files = hub.count("/cdn/");
        assertEquals(2, files);
        s.fetch(AdapterRef.of("org/max", "hub"), null);
        assertEquals(files, hub.count("/cdn/"), "a second load makes no file request");
        assertEquals(files, hub.count("/resolve/"));
    }

    @Test
    void offlineModeServesTheCacheOnly() {
        source(false, null, false).fetch(AdapterRef.of("org/max", "hub"), null);
        hub.clear();
        HubAdapterSource offline = source(true, null, false);
        Path dir = offline.fetch(AdapterRef.of("org/max", "hub"), null);
        assertTrue(Files.exists(dir.resolve("adapter_model.safetensors")));
        assertEquals(0, hub.seen().size(), "offline mode never calls the Hub");
        AdapterException e = assertThrows(AdapterException.class, () -> offline.fetch(AdapterRef.of("org/other", "hub"), null));
        assertTrue(e.getMessage().contains("offline"), e.getMessage());
    }

    @Test
    void aCacheWrittenByHuggingfaceHubIsReadAsIs() throws Exception {
        // huggingface_hub's layout: blobs named by etag, refs/main holding the commit, snapshot links
        String sha = "0123456789abcdef0123456789abcdef01234567";
        Path repo = cache.resolve("models--someone--sue");
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snap = Files.createDirectories(repo.resolve("snapshots").resolve(sha));
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
            byte[] bytes = Files.readAllBytes(SharedAssets.adapter("lora-name-sue").resolve(f));
            String etag = FakeHub.sha256(bytes);
            Files.write(blobs.resolve(etag), bytes);
            Files.createSymbolicLink(snap.resolve(f), Path.of("..", "..", "blobs", etag));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), sha);
        Path dir = source(true, null, false).fetch(AdapterRef.of("someone/sue", "hub"), null);
        assertEquals(snap, dir);
        assertArrayEquals(Files.readAllBytes(SharedAssets.adapter("lora-name-sue").resolve("adapter_model.safetensors")),
                Files.readAllBytes(dir.resolve("adapter_model.safetensors")));
    }

    @Test
    void aServerErrorIsRetriedAndAMissingRepoFailsClearly() {
        hub.failNext("/api/models/org/max", 1);
        hub.failNext("/cdn/", 1);
        Path dir = source(false, null, false).fetch(AdapterRef.of("org/max", "hub"), null);
        assertTrue(Files.exists(dir.resolve("adapter_model.safetensors")));
        assertTrue(hub.seen().stream().anyMatch(s -> s.status() == 500), "the 500 happened and was retried");
        AdapterException e = assertThrows(AdapterException.class, () -> source(false, null, false).fetch(AdapterRef.of("org/nope", "hub"), null));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void privateReposNeedAToken() {
        HubAdapterSource s = source(false, null, false);
        AdapterRef secret = AdapterRef.of("org/secret", "hub");
        AdapterAccessException none = assertThrows(AdapterAccessException.class, () -> s.authorize(secret, null));
        assertTrue(none.missingToken(), "no token: 401");
        AdapterAccessException wrong = assertThrows(AdapterAccessException.class, () -> s.authorize(secret, ApiToken.of("bad-token-456")));
        assertFalse(wrong.missingToken(), "a token without access: 403");
        assertFalse(wrong.getMessage().contains("bad-token-456"), "tokens never appear in messages");
        s.authorize(secret, ApiToken.of("good-token-123"));
        assertTrue(Files.exists(s.fetch(secret, ApiToken.of("good-token-123")).resolve("adapter_model.safetensors")));
    }

    @Test
    void aRejectedTokenStillReadsAPublicRepo() {
        // OpenAI SDKs always send their API key as a Bearer token, often a dummy one
        HubAdapterSource s = source(false, null, false);
        AdapterRef max = AdapterRef.of("org/max", "hub");
        s.authorize(max, ApiToken.of("sk-dummy"));
        assertTrue(Files.exists(s.fetch(max, ApiToken.of("sk-dummy")).resolve("adapter_model.safetensors")));
    }

    @Test
    void theGlobalTokenIsLentOnlyWhenConfigured() {
        AdapterRef secret = AdapterRef.of("org/secret", "hub");
        assertThrows(AdapterAccessException.class, () -> source(false, "good-token-123", false).authorize(secret, null));
        source(false, "good-token-123", true).authorize(secret, null);
        AdapterAccessException e = assertThrows(AdapterAccessException.class,
                () -> source(false, "good-token-123", true).authorize(secret, ApiToken.of("bad-token-456")),
                "a caller's own token is never replaced by the server's");
        assertFalse(e.missingToken());
    }
}
