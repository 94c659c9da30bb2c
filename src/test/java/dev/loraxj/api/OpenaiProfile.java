package dev.loraxj.api;

import dev.loraxj.SharedAssets;
import io.quarkus.test.junit.QuarkusTestProfile;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;

/**
 * stories260K (which ships no chat template) with the test's story template, and the shared
 * stories260K adapters as a local root, so {@code model: "lora-name-max"} names that adapter.
 */
public class OpenaiProfile implements QuarkusTestProfile {

    static Path storyTemplate() {
        try {
            return Path.of(OpenaiProfile.class.getResource("/chat-templates/story.jinja").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("loraxj.chat-template", storyTemplate().toString(),
                "loraxj.adapters.local-roots", SharedAssets.root().resolve("adapters/stories260K").toString());
    }
}
