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
            AdapterException e = assertThrows(AdapterException.class, () -> s.fetch(AdapterRef.of(id, "local"), null), id);
            assertTrue(e.getMessage().contains("outside the allowed roots"), e.getMessage());
        }
        AdapterException missing = assertThrows(AdapterException.class, () -> s.fetch(AdapterRef.of(root + "/nope", "local"), null));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        AdapterException off = assertThrows(AdapterException.class,
                () -> new LocalAdapterSource(List.of()).fetch(AdapterRef.of(inside.toString(), "local"), null));
        assertTrue(off.getMessage().contains("local-roots"), off.getMessage());
    }
}
