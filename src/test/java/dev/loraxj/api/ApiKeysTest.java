package dev.loraxj.api;

import dev.loraxj.config.LoraxjConfig;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ApiKeysTest {

    @Test
    void keysComeFromTheListAndTheFileSkippingCommentsAndBlanks() throws Exception {
        Path f = Files.writeString(Files.createTempFile("keys", ".txt"), "# a comment\n\n  file-key \n");
        ApiKeys keys = ApiKeys.of(Optional.of(List.of("list-key", " ")), Optional.of(f.toString()));
        assertTrue(keys.enabled());
        assertTrue(keys.matches("list-key"));
        assertTrue(keys.matches("file-key"));
        for (String no : new String[] {"# a comment", "", "list-ke", "list-key2", "LIST-KEY", null}) {
            assertFalse(keys.matches(no), String.valueOf(no));
        }
    }

    @Test
    void noKeysAndAMissingOptionalFileMeanKeysAreOff() {
        assertFalse(ApiKeys.of(Optional.empty(), Optional.empty()).enabled());
        ApiKeys missing = ApiKeys.of(Optional.empty(), Optional.of("/nonexistent/loraxj/api-keys"), true);
        assertFalse(missing.enabled());
        assertFalse(missing.matches("anything"));
    }

    @Test
    void aMissingFileThatIsNotOptionalStopsTheServerNamingThePath() {
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> ApiKeys.of(Optional.of(List.of("k")), Optional.of("/nonexistent/loraxj/api-keys")));
        assertEquals("loraxj.auth.api-keys-file /nonexistent/loraxj/api-keys does not exist; set loraxj.auth.api-keys-file-optional=true"
                + " if it may be absent (an optionally mounted Secret)", e.getMessage());
    }

    @Test
    void keysComeFromTheEnvironmentThroughTheConfigMapping() throws Exception {
        LoraxjConfig c = new SmallRyeConfigBuilder().addDefaultInterceptors()
                .withSources(new EnvConfigSource(Map.of("LORAXJ_MODEL_ID", "m", "LORAXJ_AUTH_API_KEYS", "env-a,env-b",
                                "LORAXJ_AUTH_OIDC_REQUIRED_ROLE", "generate"), 300),
                        new PropertiesConfigSource(Path.of("src/main/resources/application.properties").toUri().toURL(), 250))
                .withConverter(Duration.class, 200, new DurationConverter())
                .withMapping(LoraxjConfig.class).build().getConfigMapping(LoraxjConfig.class);
        assertEquals(Optional.of(List.of("env-a", "env-b")), c.auth().apiKeys());
        assertEquals(Optional.of("generate"), c.auth().oidc().requiredRole());
        assertEquals(List.of("/health", "/info", "/metrics", "/q/health", "/q/health/*"), c.auth().openPaths());
        assertTrue(ApiKeys.of(c.auth().apiKeys(), c.auth().apiKeysFile()).matches("env-b"));
    }
}
