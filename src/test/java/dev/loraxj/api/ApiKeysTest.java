package dev.loraxj.api;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

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
    void noKeysAndAMissingFileMeanKeysAreOff() {
        assertFalse(ApiKeys.of(Optional.empty(), Optional.empty()).enabled());
        ApiKeys missing = ApiKeys.of(Optional.empty(), Optional.of("/nonexistent/loraxj/api-keys"));
        assertFalse(missing.enabled());
        assertFalse(missing.matches("anything"));
    }
}
