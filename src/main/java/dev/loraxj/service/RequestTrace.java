package dev.loraxj.service;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.engine.Generation;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.smallrye.common.vertx.ContextLocals;
import io.smallrye.common.vertx.VertxContext;
import io.vertx.core.Vertx;

import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP request's spans under the server span Quarkus opened for it (its parent the caller's
 * {@code traceparent}): validation, access check, adapter load, and per sequence queue, prefill and
 * decode. Stages record System.nanoTime stamps; spans are built with explicit times on the request's
 * event loop, never on the engine thread. {@link #OFF} outside a traced request.
 */
public final class RequestTrace {

    static final RequestTrace OFF = new RequestTrace(null, null, null);

    public static final AttributeKey<String> ADAPTER_ID = AttributeKey.stringKey("loraxj.adapter.id");
    public static final AttributeKey<Long> PROMPT_TOKENS = AttributeKey.longKey("loraxj.prompt_tokens");
    public static final AttributeKey<Long> GENERATED_TOKENS = AttributeKey.longKey("loraxj.generated_tokens");
    public static final AttributeKey<String> FINISH_REASON = AttributeKey.stringKey("loraxj.finish_reason");
    public static final AttributeKey<Boolean> PREFIX_HIT = AttributeKey.booleanKey("loraxj.prefix_cache.hit");
    public static final AttributeKey<Long> PREFIX_HIT_TOKENS = AttributeKey.longKey("loraxj.prefix_cache.hit_tokens");
    public static final AttributeKey<Long> SEQUENCES = AttributeKey.longKey("loraxj.sequences");

    private static final String LOCAL = RequestTrace.class.getName();

    private final Tracer tracer;
    private final Context parent;
    private final io.vertx.core.Context onRequest;
    private final long anchorEpochNanos;
    private final long anchorNanos = System.nanoTime();
    // touched only on the request's context (the event loop or its blocking worker, one at a time)
    private boolean accessTraced;
    private boolean loadTraced;
    private long sequences;
    private long promptTokens;
    private long generatedTokens;
    private long hitTokens;

    private RequestTrace(Tracer tracer, Context parent, io.vertx.core.Context onRequest) {
        this.tracer = tracer;
        this.parent = parent;
        this.onRequest = onRequest;
        Instant now = Instant.now();
        this.anchorEpochNanos = TimeUnit.SECONDS.toNanos(now.getEpochSecond()) + now.getNano();
    }

    /**
     * The trace of the request whose Vert.x context this thread runs on: made at its first call and
     * kept in that (duplicated) context; OFF when there is none or its server span does not record.
     */
    static RequestTrace current(Tracer tracer) {
        io.vertx.core.Context vc = Vertx.currentContext();
        if (vc == null || !VertxContext.isDuplicatedContext(vc)) {
            return OFF;
        }
        RequestTrace t = ContextLocals.get(LOCAL, null);
        if (t == null) {
            Context parent = Context.current();
            t = Span.fromContext(parent).isRecording() ? new RequestTrace(tracer, parent, vc) : OFF;
            ContextLocals.put(LOCAL, t);
        }
        return t;
    }

    boolean on() {
        return tracer != null;
    }

    /** A span over [start, end] (System.nanoTime), failed with {@code error} when not null. */
    void span(String name, long start, long end, Throwable error) {
        if (!on()) {
            return;
        }
        Span s = child(name, start).startSpan();
        failed(s, error);
        s.end(epoch(end), TimeUnit.NANOSECONDS);
    }

    /** The access check, once per request (a request's later sequences share its answer). */
    void accessChecked(long start, long end, Throwable error) {
        run(() -> {
            if (!accessTraced) {
                accessTraced = true;
                span("access check", start, end, error);
            }
        });
    }

    /** The adapter's lease: its load, or at once when it was loaded already; once per request. */
    void adapterLoaded(AdapterKey adapter, long start, long end, Throwable error) {
        run(() -> {
            if (!loadTraced) {
                loadTraced = true;
                Span s = child("adapter load", start).setAttribute(ADAPTER_ID, adapter.name()).startSpan();
                failed(s, error);
                s.end(epoch(end), TimeUnit.NANOSECONDS);
            }
        });
    }

    /**
     * A sequence finished (called on the engine thread: only hands the work over). Its queue,
     * prefill and decode spans, and the request span's totals over its sequences; then {@code then}
     * (which ends the answer, and with it the request span), there, so the totals land before.
     */
    void finished(AdapterKey adapter, Generation g, Runnable then) {
        if (!on()) {
            then.run(); // nothing allocated when off
            return;
        }
        run(() -> {
            try {
                sequenceSpans(adapter, g);
            } finally {
                then.run();
            }
        });
    }

    private void sequenceSpans(AdapterKey adapter, Generation g) {
        Span request = Span.fromContext(parent);
        sequences++;
        promptTokens += g.promptTokens();
        generatedTokens += g.generatedTokens();
        hitTokens += g.prefixHitTokens();
        if (adapter != null) {
            request.setAttribute(ADAPTER_ID, adapter.name());
        }
        request.setAttribute(SEQUENCES, sequences);
        request.setAttribute(PROMPT_TOKENS, promptTokens);
        request.setAttribute(GENERATED_TOKENS, generatedTokens);
        request.setAttribute(FINISH_REASON, g.finishReason().wire());
        request.setAttribute(PREFIX_HIT, hitTokens > 0);
        request.setAttribute(PREFIX_HIT_TOKENS, hitTokens);
        span("queue", g.queuedNanos(), g.startNanos(), null);
        Span prefill = child("prefill", g.startNanos())
                .setAttribute(PROMPT_TOKENS, (long) g.promptTokens())
                .setAttribute(PREFIX_HIT, g.prefixHitTokens() > 0)
                .setAttribute(PREFIX_HIT_TOKENS, (long) g.prefixHitTokens()).startSpan();
        prefill.end(epoch(g.firstTokenNanos()), TimeUnit.NANOSECONDS);
        Span decode = child("decode", g.firstTokenNanos())
                .setAttribute(GENERATED_TOKENS, (long) g.generatedTokens())
                .setAttribute(FINISH_REASON, g.finishReason().wire()).startSpan();
        decode.end(epoch(g.endNanos()), TimeUnit.NANOSECONDS);
    }

    private SpanBuilder child(String name, long start) {
        return tracer.spanBuilder(name).setParent(parent).setStartTimestamp(epoch(start), TimeUnit.NANOSECONDS);
    }

    private static void failed(Span s, Throwable error) {
        if (error != null) {
            s.setStatus(StatusCode.ERROR, error.getClass().getSimpleName()); // not its message: it may name what a caller sent
        }
    }

    /** Runs on the request's context, whichever thread reports. */
    private void run(Runnable work) {
        if (on()) {
            onRequest.runOnContext(v -> work.run());
        }
    }

    private long epoch(long nanoTime) {
        return anchorEpochNanos + (nanoTime - anchorNanos);
    }
}
