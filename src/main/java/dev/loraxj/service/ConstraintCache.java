package dev.loraxj.service;

import dev.loraxj.grammar.ConstraintSpec;
import dev.loraxj.grammar.Grammar;
import dev.loraxj.grammar.GrammarException;
import dev.loraxj.grammar.Grammars;
import dev.loraxj.grammar.TokenVocabulary;
import dev.loraxj.model.ModelException;
import dev.loraxj.model.Tokenizer;
import org.jboss.logging.Logger;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Compiled grammars by constraint value: each distinct schema, regex or tool set compiles once, on
 * this cache's own threads (never the engine's, never the event loop), while its first request
 * waits in the queue; later requests share the result. Bounded by entries and by the bytes the
 * compiled masks hold, least recently used out first. A constraint that fails to compile fails
 * only the requests that sent it (422), and the failure is remembered like a success.
 */
public final class ConstraintCache implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ConstraintCache.class);
    static final int MAX_ENTRIES = 256;
    static final long MAX_BYTES = 512L << 20;

    private final Tokenizer tokenizer;
    private final ExecutorService compilers;
    private final Map<ConstraintSpec, CompletableFuture<Grammar>> cache = new LinkedHashMap<>(16, 0.75f, true);
    private volatile TokenVocabulary vocabulary;

    public ConstraintCache(Tokenizer tokenizer, int threads) {
        this.tokenizer = tokenizer;
        this.compilers = Executors.newFixedThreadPool(threads, Thread.ofPlatform().name("loraxj-grammar-", 0).daemon(true).factory());
    }

    /** The grammar for {@code spec}, compiled once; fails with a ValidationException (422) when it cannot compile. */
    public CompletableFuture<Grammar> grammar(ConstraintSpec spec) {
        synchronized (cache) {
            CompletableFuture<Grammar> f = cache.get(spec);
            if (f != null) {
                return f;
            }
            f = CompletableFuture.supplyAsync(() -> compile(spec), compilers);
            cache.put(spec, f);
            f.thenRun(this::trimNow);
            trim();
            return f;
        }
    }

    private Grammar compile(ConstraintSpec spec) {
        long start = System.nanoTime();
        try {
            Grammar g = Grammars.compile(spec, vocabulary());
            LOG.debugf("compiled a %s: %d states, %d KiB, %.1f ms", g.description(), g.states(), g.bytes() >> 10,
                    (System.nanoTime() - start) / 1e6);
            return g;
        } catch (GrammarException | ModelException e) {
            throw new ValidationException(e.getMessage());
        }
    }

    private TokenVocabulary vocabulary() {
        TokenVocabulary v = vocabulary;
        if (v == null) {
            v = new TokenVocabulary(tokenizer.tokenBytes(), tokenizer.eosIds());
            vocabulary = v;
        }
        return v;
    }

    private void trimNow() {
        synchronized (cache) {
            trim();
        }
    }

    /** Drops the least recently used finished entries past the bounds (a compile in flight stays). */
    private void trim() {
        long bytes = 0;
        for (CompletableFuture<Grammar> f : cache.values()) {
            bytes += held(f);
        }
        Iterator<Map.Entry<ConstraintSpec, CompletableFuture<Grammar>>> it = cache.entrySet().iterator();
        while ((cache.size() > MAX_ENTRIES || bytes > MAX_BYTES) && it.hasNext()) {
            CompletableFuture<Grammar> f = it.next().getValue();
            if (f.isDone()) {
                bytes -= held(f);
                it.remove();
            }
        }
    }

    private static long held(CompletableFuture<Grammar> f) {
        return f.isDone() && !f.isCompletedExceptionally() ? f.join().bytes() : 0;
    }

    /** Entries held (for tests and logs). */
    public int size() {
        synchronized (cache) {
            return cache.size();
        }
    }

    @Override
    public void close() {
        compilers.shutdownNow();
    }
}
