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

    @Test
    void everyNameOfADirectoryIsOneCanonicalAdapter(@TempDir Path tmp) throws Exception {
        Path first = Files.createDirectories(tmp.resolve("first"));
        Path second = Files.createDirectories(tmp.resolve("second"));
        Path a = Files.createDirectories(first.resolve("org/a"));
        Files.createSymbolicLink(first.resolve("alias"), a);
        Path shadowed = Files.createDirectories(second.resolve("org/a"));
        Path onlySecond = Files.createDirectories(second.resolve("b"));
        LocalAdapterSource s = new LocalAdapterSource(List.of(first, second));

        for (String id : List.of("org/a", a.toString(), first + "/org/../org/a", first + "/alias", "alias", "org/./a")) {
            assertEquals(AdapterRef.of("org/a", "local"), s.canonical(AdapterRef.of(id, "local")), id);
        }
        assertEquals(AdapterRef.of("b", "local"), s.canonical(AdapterRef.of(onlySecond.toString(), "local")));
        // "org/a" names the first root's: the second's keeps its real path, or two adapters would share a name
        assertEquals(AdapterRef.of(shadowed.toRealPath().toString(), "local"), s.canonical(AdapterRef.of(shadowed.toString(), "local")));
        assertEquals(shadowed.toRealPath(), s.fetch(s.canonical(AdapterRef.of(shadowed.toString(), "local")), null));
        assertEquals(new AdapterRef("org/a", "local", "v2"), s.canonical(new AdapterRef(a.toString(), "local", "v2")), "the revision is kept");
        for (String unknown : List.of("nope", "/etc", "../../etc")) {
            assertEquals(AdapterRef.of(unknown, "local"), s.canonical(AdapterRef.of(unknown, "local")), "fetch says why: " + unknown);
        }
    }
}
