package dev.loraxj.hardening;

import dev.loraxj.SharedAssets;
import io.quarkus.test.junit.QuarkusTestProfile;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The one profile of the hardening tests (one Quarkus start for all of them): room for 256+
 * sequences at once, the shared stories260K adapters as the local root (ids like lora-name-max),
 * the test's story chat template, and every remote adapter source pointed at a closed loopback port
 * so no hostile input can reach beyond 127.0.0.1.
 */
public class HardeningProfile implements QuarkusTestProfile {

    static final int MAX_CONCURRENT = 1024;
    static final String NOWHERE = "http://127.0.0.1:9";

    static Path adapterRoot() {
        return SharedAssets.root().resolve("adapters/stories260K");
    }

    static Path storyTemplate() {
        try {
            return Path.of(HardeningProfile.class.getResource("/chat-templates/story.jinja").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("loraxj.max-concurrent-requests", String.valueOf(MAX_CONCURRENT),
                "loraxj.adapters.local-roots", adapterRoot().toString(),
                "loraxj.chat-template", storyTemplate().toString(),
                "loraxj.hub.offline", "true",
                "loraxj.hub.endpoint", NOWHERE,
                "loraxj.predibase.gateway", NOWHERE,
                "quarkus.s3.endpoint-override", NOWHERE);
    }
}
