package dev.loraxj.adapter;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

/**
 * What the s3 source downloaded into one cache directory: each file's size and ETag as S3 reported
 * them, kept beside the files in {@code .loraxj-s3} so an unchanged adapter is never downloaded again.
 */
final class S3Manifest {

    static final String MANIFEST = ".loraxj-s3";
    private static final String COMPLETE = "/complete"; // no file name has a slash

    private final Properties entries;

    private S3Manifest(Properties entries) {
        this.entries = entries;
    }

    /** The manifest of {@code dir}; empty when there is none or it cannot be read (everything is fetched again). */
    static S3Manifest read(Path dir) {
        Properties p = new Properties();
        Path file = dir.resolve(MANIFEST);
        if (Files.isRegularFile(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                p.load(in);
            } catch (IOException | IllegalArgumentException e) {
                p.clear();
            }
        }
        return new S3Manifest(p);
    }

    /** Whether the last sync finished: every file S3 listed then is here. */
    boolean complete() {
        return entries.containsKey(COMPLETE);
    }

    void complete(boolean done) {
        if (done) {
            entries.setProperty(COMPLETE, "true");
        } else {
            entries.remove(COMPLETE);
        }
    }

    /** Whether {@code name} is on disk with the size and ETag S3 lists for it now. */
    boolean matches(Path dir, String name, Long size, String eTag) {
        String entry = entries.getProperty(name);
        if (entry == null || size == null || eTag == null) {
            return false;
        }
        Path f = dir.resolve(name);
        try {
            return entry.equals(size + " " + eTag) && Files.isRegularFile(f) && Files.size(f) == size;
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether every file of the manifest is still on disk with its recorded size. */
    boolean allPresent(Path dir) {
        for (String name : names()) {
            String entry = entries.getProperty(name);
            Path f = dir.resolve(name);
            try {
                if (!Files.isRegularFile(f) || Files.size(f) != Long.parseLong(entry.substring(0, entry.indexOf(' ')))) {
                    return false;
                }
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }
        return true;
    }

    void put(String name, long size, String eTag) {
        entries.setProperty(name, size + " " + Objects.requireNonNullElse(eTag, "-"));
    }

    void remove(String name) {
        entries.remove(name);
    }

    /** Names recorded here that S3 no longer lists (removed upstream: removed here too). */
    List<String> namesNotIn(Collection<String> listed) {
        List<String> gone = new ArrayList<>();
        for (String name : names()) {
            if (!listed.contains(name)) {
                gone.add(name);
            }
        }
        return gone;
    }

    private List<String> names() {
        return entries.stringPropertyNames().stream().filter(n -> !n.equals(COMPLETE)).toList();
    }

    /** Writes the manifest atomically, so a crash leaves the old one or the new one. */
    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, MANIFEST, ".incomplete");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                entries.store(out, "files of this s3 adapter: size and ETag");
            }
            Files.move(tmp, dir.resolve(MANIFEST), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
