package dev.loraxj.service;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServedModelTest {

    @Test
    void theDefaultNameIsTheLastSegmentOfTheDirectoryOrRepo() {
        assertEquals("stories260K", ServedModel.of("../shared/models/stories260K", Optional.empty()).name());
        assertEquals("stories260K", ServedModel.of("/srv/models/stories260K/", Optional.empty()).name());
        assertEquals("Llama-3.2-1B", ServedModel.of("meta-llama/Llama-3.2-1B", Optional.empty()).name());
        assertEquals("gpt2", ServedModel.of("gpt2", Optional.empty()).name());
        assertEquals(Path.of("").toAbsolutePath().getFileName().toString(), ServedModel.of(".", Optional.empty()).name(),
                "\".\" is the working directory, named as itself");
        assertEquals("my-model", ServedModel.of("../shared/models/stories260K", Optional.of("my-model")).name());
    }

    @Test
    void theBaseModelAnswersToItsNameAndItsFullId() {
        ServedModel m = ServedModel.of("../shared/models/stories260K", Optional.empty());
        assertTrue(m.names("stories260K"));
        assertTrue(m.names("../shared/models/stories260K"));
        assertTrue(m.names("../shared/models/stories260K/"));
        assertFalse(m.names("lora-name-max"));
        assertFalse(m.names("models/stories260K"));
        assertFalse(m.names(null));
        ServedModel named = ServedModel.of("org/repo", Optional.of("served"));
        assertTrue(named.names("served") && named.names("org/repo"));
        assertFalse(named.names("repo"), "a configured name replaces the default one");
    }
}
