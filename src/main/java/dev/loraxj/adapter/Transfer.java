package dev.loraxj.adapter;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;

/**
 * One file coming from a source: written to a temporary file, size-checked, then moved into place
 * atomically so a half-written file is never used; progress logged at most once a second for files
 * over 1 MB; bytes and time counted per source.
 */
public final class Transfer {

    private static final Logger LOG = Logger.getLogger(Transfer.class);
    private static final long LOG_ABOVE = 1 << 20;

    private final String source;
    private final String what;
    private final long total;
    private final MeterRegistry registry;
    private final long startNanos = System.nanoTime();
    private long done;
    private long lastLogNanos = startNanos;

    private Transfer(String source, String what, long total, MeterRegistry registry) {
        this.source = source;
        this.what = what;
        this.total = total;
        this.registry = registry;
    }

    /**
     * Copies {@code in} into {@code target} atomically. {@code expectedBytes} (or -1 if unknown) is
     * checked against what arrived.
     */
    public static void copy(InputStream in, Path target, long expectedBytes, String source, String what, MeterRegistry registry)
            throws IOException {
        Files.createDirectories(target.getParent());
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".incomplete");
        Transfer t = new Transfer(source, what, expectedBytes, registry);
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    out.write(buf, 0, n);
                    t.advance(n);
                }
            }
            if (expectedBytes >= 0 && t.done != expectedBytes) {
                throw new IOException(what + ": received " + t.done + " bytes, expected " + expectedBytes);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            t.finish();
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void advance(long bytes) {
        done += bytes;
        long now = System.nanoTime();
        if (total > LOG_ABOVE && now - lastLogNanos >= 1_000_000_000L) {
            lastLogNanos = now;
            double secs = (now - startNanos) / 1e9;
            LOG.infof("%s: downloading %s: %.1f of %.1f MB (%.1f MB/s)", source, what, done / 1e6, total / 1e6, done / 1e6 / secs);
        }
    }

    private void finish() {
        long nanos = System.nanoTime() - startNanos;
        if (registry != null) {
            Counter.builder("loraxj_adapter_download_bytes").tag("source", source).description("Bytes downloaded by adapter sources")
                    .register(registry).increment(done);
            Timer.builder("loraxj_adapter_download_duration").tag("source", source).description("Time spent downloading adapter files")
                    .register(registry).record(nanos, TimeUnit.NANOSECONDS);
        }
        if (done > LOG_ABOVE) {
            LOG.infof("%s: downloaded %s: %.1f MB in %.2f s", source, what, done / 1e6, nanos / 1e9);
        }
    }
}
