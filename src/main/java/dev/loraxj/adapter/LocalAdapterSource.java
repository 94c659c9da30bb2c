package dev.loraxj.adapter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code adapter_source: "local"}: the id is a directory, readable only inside the configured roots.
 * Paths are compared after resolving symlinks, so neither {@code ..} nor a link escapes a root.
 */
public final class LocalAdapterSource implements AdapterSource {

    private final List<Path> roots;

    public LocalAdapterSource(List<Path> roots) {
        this.roots = roots.stream().map(r -> r.toAbsolutePath().normalize()).toList();
    }

    /** The roots as they are now (resolved on each use: a root may be created or relinked later). */
    private List<Path> realRoots() {
        List<Path> real = new ArrayList<>();
        for (Path r : roots) {
            try {
                real.add(r.toRealPath());
            } catch (IOException e) {
                // a root that does not exist grants nothing; keep the others
            }
        }
        return real;
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public Path fetch(AdapterRef ref, ApiToken token) {
        Path dir = resolve(ref.id());
        if (!Files.isDirectory(dir)) {
            throw new AdapterException("local adapter " + ref.id() + " is not a directory");
        }
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                resolve(f.toString()); // a file linked from outside the roots is refused too
            }
        } catch (IOException e) {
            throw new AdapterException("cannot list local adapter " + ref.id() + ": " + e.getMessage());
        }
        return dir;
    }

    /**
     * The real path of {@code id} if it lies inside a root; refuses anything else. An absolute id is
     * a path; a relative one is looked up under each root in order (so {@code lora-name-max} can name
     * {@code <root>/lora-name-max}), then against the working directory.
     */
    Path resolve(String id) {
        if (roots.isEmpty()) {
            throw new AdapterException("local adapters are disabled: set loraxj.adapters.local-roots");
        }
        Path real = null;
        try {
            Path p = Path.of(id);
            if (!p.isAbsolute()) {
                for (Path root : roots) {
                    Path candidate = root.resolve(p).normalize();
                    if (Files.exists(candidate)) {
                        real = candidate.toRealPath();
                        break;
                    }
                }
            }
            if (real == null) {
                real = p.toAbsolutePath().normalize().toRealPath();
            }
        } catch (IOException | java.nio.file.InvalidPathException e) {
            throw new AdapterNotFoundException("local adapter " + id + " does not exist");
        }
        for (Path root : realRoots()) {
            if (real.startsWith(root)) {
                return real;
            }
        }
        throw new AdapterException("local adapter " + id + " is outside the allowed roots (loraxj.adapters.local-roots)");
    }
}
