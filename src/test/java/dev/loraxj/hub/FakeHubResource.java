package dev.loraxj.hub;

import dev.loraxj.SharedAssets;
import dev.loraxj.TestFiles;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** Starts a fake Hub on 127.0.0.1 before the server and points the hub source at it. */
public class FakeHubResource implements QuarkusTestResourceLifecycleManager {

    public static final String GOOD = "hf_good_TOKEN_5d0e8a1f";
    public static final String WRONG = "hf_wrong_TOKEN_77c3b2e9";
    public static final String GLOBAL = "hf_global_TOKEN_0a9f4c11";
    public static volatile FakeHub hub;
    public static volatile Path log;

    @Override
    public Map<String, String> start() {
        try {
            hub = new FakeHub();
            hub.add("test-org/stories260K", SharedAssets.stories260K());
            hub.add("test-org/max", SharedAssets.adapter("lora-name-max"));
            hub.add("test-org/private-sue", SharedAssets.adapter("lora-name-sue")).privateFor(GOOD);
            hub.add("test-org/private-synth", SharedAssets.adapter("lora-synth-1")).privateFor(GOOD);
            hub.add("test-org/slow-private", SharedAssets.adapter("lora-synth-2")).privateFor(GOOD);
            Path cache = TestFiles.dir("loraxj-hub-cache");
            log = TestFiles.file("loraxj-hub-test", ".log");
            return Map.ofEntries(
                    Map.entry("loraxj.model-id", "test-org/stories260K"),
                    Map.entry("loraxj.hub.endpoint", hub.endpoint()),
                    Map.entry("loraxj.hub.cache", cache.toString()),
                    Map.entry("loraxj.hub.token", GLOBAL),
                    Map.entry("loraxj.auth.use-global-hf-token", "false"),
                    Map.entry("loraxj.auth.cache-ttl", "1s"),
                    Map.entry("loraxj.adapters.default-source", "hub"),
                    Map.entry("loraxj.max-batch-total-tokens", "512"),
                    Map.entry("quarkus.log.file.enabled", "true"),
                    Map.entry("quarkus.log.file.path", log.toString()),
                    Map.entry("quarkus.log.file.level", "DEBUG"),
                    Map.entry("quarkus.log.category.\"dev.loraxj\".level", "DEBUG"),
                    Map.entry("quarkus.log.category.\"io.vertx\".level", "DEBUG"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stop() {
        if (hub != null) {
            hub.close();
        }
    }
}
