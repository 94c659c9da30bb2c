package dev.loraxj.adapter;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalAdapterSourceTest {

    @Test
    void readsInsideTheRootsAndRefusesEscapes(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Path inside = Files.createDirectories(root.resolve("a"));
        Files.writeString(inside.resolve("adapter_config.json"), "{}");
        Path outside = Files.createDirectories(tmp.resolve("secret"));
        Files.writeString(outside.resolve("adapter_config.json"), "{}");
        Files.createSymbolicLink(root.resolve("link"), outside);
        Path sneaky = Files.createDirectories(root.resolve("sneaky"));
        Files.createSymbolicLink(sneaky.resolve("adapter_model.safetensors"), outside.resolve("adapter_config.json"));
        LocalAdapterSource s = new LocalAdapterSource(List.of(root));

        assertEquals(inside.toRealPath(), s.fetch(AdapterRef.of(inside.toString(), "local"), null));
        for (String id : List.of(root + "/../secret", root + "/link", outside.toString(), sneaky.toString())) {
            AdapterException e = assertThrows(AdapterNotFoundException.class, () -> s.fetch(AdapterRef.of(id, "local"), null), id);
            // the same words as for a path that does not exist: no oracle of what lies outside the roots
            assertEquals("local adapter " + id + " was not found under the allowed roots (loraxj.adapters.local-roots)", e.getMessage());
        }
        String nope = root + "/nope";
        AdapterException missing = assertThrows(AdapterNotFoundException.class, () -> s.fetch(AdapterRef.of(nope, "local"), null));
        assertEquals("local adapter " + nope + " was not found under the allowed roots (loraxj.adapters.local-roots)", missing.getMessage());
        Files.writeString(root.resolve("plain-file"), "x");
        AdapterException file = assertThrows(AdapterNotFoundException.class,
                () -> s.fetch(AdapterRef.of(root.resolve("plain-file").toString(), "local"), null));
        assertEquals("local adapter " + root.resolve("plain-file") + " was not found under the allowed roots (loraxj.adapters.local-roots)",
                file.getMessage());
        for (String hostile : List.of("/etc/passwd", "/etc", "../../../../etc", "..", "a/../../b")) {
            AdapterException e = assertThrows(AdapterNotFoundException.class, () -> s.fetch(AdapterRef.of(hostile, "local"), null), hostile);
            assertEquals("local adapter " + hostile + " was not found under the allowed roots (loraxj.adapters.local-roots)", e.getMessage());
        }
        AdapterException off = assertThrows(AdapterException.class,
                () -> new LocalAdapterSource(List.of()).fetch(AdapterRef.of(inside.toString(), "local"), null));
        assertTrue(off.getMessage().contains("local-roots"), off.getMessage());
    }
}
