package dev.loraxj;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Temporary files and folders for tests whose state outlives a method (Quarkus test profiles and resources have no
 * {@code @TempDir}): each is removed, with what it holds, when the test JVM exits, so runs leave nothing in /tmp.
 */
public final class TestFiles {

    private static final Set<Path> CREATED = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> CREATED.forEach(TestFiles::deleteQuietly), "test-files-cleanup"));
    }

    private TestFiles() {
    }

    /** A new empty folder under the system temp folder, removed at exit. */
    public static Path dir(String prefix) throws IOException {
        Path p = Files.createTempDirectory(prefix);
        CREATED.add(p);
        return p;
    }

    /** A new empty file under the system temp folder, removed at exit. */
    public static Path file(String prefix, String suffix) throws IOException {
        Path p = Files.createTempFile(prefix, suffix);
        CREATED.add(p);
        return p;
    }

    /** Removes {@code root} (made by the caller) with what it holds when the test JVM exits. */
    public static void deleteAtExit(Path root) {
        CREATED.add(root);
    }

    /** {@link #deleteTree}, best effort: at exit a leftover under the temp folder is harmless. */
    private static void deleteQuietly(Path root) {
        try {
            deleteTree(root);
        } catch (UncheckedIOException e) {
            // nothing to do at exit
        }
    }

    /** Deletes {@code root} and everything under it now; a missing root is fine. */
    public static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }
}
