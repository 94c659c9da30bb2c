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

    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(LocalAdapterSource.class);

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

    /**
     * Keyed by the real path, named by the shortest name that resolves back to it: the path under
     * the first root that gives it (lora-name-max), else the real path itself. So a path, a short id,
     * a {@code ..} or a link to the same directory are one adapter, listed once.
     */
    @Override
    public AdapterRef canonical(AdapterRef ref) {
        Path real;
        try {
            real = resolve(ref.id());
        } catch (AdapterException e) {
            return ref;
        }
        for (Path root : realRoots()) {
            if (real.startsWith(root) && !real.equals(root)) {
                String name = root.relativize(real).toString();
                try {
                    if (resolve(name).equals(real)) {
                        return new AdapterRef(name, ref.source(), ref.revision());
                    }
                } catch (AdapterException e) {
                    // this root's name leads elsewhere or nowhere; try the next
                }
            }
        }
        return new AdapterRef(real.toString(), ref.source(), ref.revision());
    }

    @Override
    public Path fetch(AdapterRef ref, ApiToken token) {
        Path dir = resolve(ref.id());
        if (!Files.isDirectory(dir)) {
            throw notFound(ref.id(), "is not a directory: " + dir);
        }
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (inside(f) == null) { // a file linked from outside the roots is refused too
                    throw notFound(ref.id(), "holds " + f + ", which resolves outside the roots");
                }
            }
        } catch (IOException e) {
            throw notFound(ref.id(), "cannot be listed: " + e);
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
            throw notFound(id, "does not exist (" + e + ")");
        }
        for (Path root : realRoots()) {
            if (real.startsWith(root)) {
                return real;
            }
        }
        throw notFound(id, "resolves to " + real + ", outside the roots");
    }

    /** The real path of {@code p} when it lies inside a root, else null. */
    private Path inside(Path p) {
        try {
            Path real = p.toRealPath();
            for (Path root : realRoots()) {
                if (real.startsWith(root)) {
                    return real;
                }
            }
        } catch (IOException e) {
            // a dangling link grants nothing
        }
        return null;
    }

    /**
     * One answer for a missing path, a path outside the roots and anything else that cannot be
     * served, so the error is no oracle of the server's files; the reason (with paths) is logged.
     */
    private static AdapterNotFoundException notFound(String id, String why) {
        LOG.debugf("local adapter %s refused: it %s", id, why);
        return new AdapterNotFoundException("local adapter " + id + " was not found under the allowed roots (loraxj.adapters.local-roots)");
    }
}
