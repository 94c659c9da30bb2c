package dev.loraxj.service;

import dev.loraxj.adapter.AdapterCatalog;
import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.adapter.AdapterStore;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The adapters kept loaded: {@code loraxj.adapters.preload} plus the lines of the preload file. The
 * file (a mounted ConfigMap) is re-read periodically, which also catches Kubernetes' symlink swap;
 * a change pins new adapters and unpins removed ones, without a restart.
 */
public final class Preloads implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Preloads.class);

    private final AdapterStore store;
    private final AdapterCatalog catalog;
    private final List<String> fixed;
    private final Path file;
    private final Set<AdapterRef> pinned = new LinkedHashSet<>();
    private ScheduledExecutorService watcher;
    private String lastContent;

    public Preloads(AdapterStore store, AdapterCatalog catalog, List<String> fixed, Path file) {
        this.store = store;
        this.catalog = catalog;
        this.fixed = List.copyOf(fixed);
        this.file = file;
    }

    /** Applies the lists now and, with a file, re-reads it every {@code poll}. */
    public Preloads start(Duration poll) {
        reload();
        if (file != null) {
            watcher = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("loraxj-preload-watch").daemon(true).factory());
            watcher.scheduleWithFixedDelay(this::reload, poll.toMillis(), poll.toMillis(), TimeUnit.MILLISECONDS);
        }
        return this;
    }

    /** Re-reads the file and applies any change; safe to call at any time. */
    public synchronized void reload() {
        String content = "";
        if (file != null) {
            try {
                content = Files.readString(file);
            } catch (NoSuchFileException e) {
                content = "";
            } catch (IOException e) {
                LOG.warnf("cannot read the preload file %s: %s", file, e.getMessage());
                return;
            }
        }
        if (content.equals(lastContent)) {
            return;
        }
        lastContent = content;
        List<String> specs = new ArrayList<>(fixed);
        for (String line : content.split("\n")) {
            String spec = line.strip();
            if (!spec.isEmpty() && !spec.startsWith("#")) {
                specs.add(spec);
            }
        }
        Set<AdapterRef> desired = new LinkedHashSet<>();
        for (String spec : specs) {
            desired.add(catalog.parse(spec));
        }
        for (AdapterRef ref : new HashSet<>(pinned)) {
            if (!desired.contains(ref)) {
                store.unpin(ref);
                pinned.remove(ref);
                LOG.infof("adapter %s is no longer preloaded; it may be evicted when idle", ref);
            }
        }
        for (AdapterRef ref : desired) {
            if (pinned.add(ref)) {
                store.pin(ref).adapter().whenComplete((a, t) -> {
                    if (t != null) {
                        LOG.errorf("preloading adapter %s failed: %s", ref, t.getMessage());
                    } else {
                        LOG.infof("preloaded adapter %s (%s)", ref, a.description());
                    }
                });
            }
        }
    }

    public synchronized Set<AdapterRef> pinned() {
        return Set.copyOf(pinned);
    }

    @Override
    public void close() {
        if (watcher != null) {
            watcher.shutdownNow();
        }
    }
}
