package dev.loraxj.service;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.adapter.AdapterRequestException;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.engine.SequenceSetup;
import dev.loraxj.adapter.LoadedAdapter;
import dev.loraxj.engine.Generation;
import dev.loraxj.engine.GenerationRequest;
import dev.loraxj.engine.Sequence;
import dev.loraxj.engine.SequenceListener;
import dev.loraxj.engine.TokenEvent;
import dev.loraxj.grammar.ConstraintSpec;
import dev.loraxj.grammar.Grammar;
import dev.loraxj.grammar.GrammarException;
import dev.loraxj.grammar.Grammars;
import dev.loraxj.model.TokenSpan;
import io.opentelemetry.api.trace.Tracer;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.BackPressureStrategy;
import io.smallrye.mutiny.subscription.MultiEmitter;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Turns a validated request into token streams: admission control (max concurrent requests),
 * queueing into the engine, cancellation when the consumer goes away, and best_of.
 */
@ApplicationScoped
public class InferenceService {

    private final ModelHost host;
    private final Draining draining;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Tracer tracer;

    public InferenceService(ModelHost host, Draining draining, Tracer tracer) {
        this.host = host;
        this.draining = draining;
        this.tracer = tracer;
        draining.track(inFlight::get);
    }

    /** Validates and tokenizes; throws ValidationException (422) or NotReadyException (503). */
    public ValidRequest validate(LoraxRequest request, boolean streaming) {
        return validate(request, streaming, null);
    }

    /**
     * As above; {@code headerToken} is the private-adapter token the request's headers carry (null if
     * none), used when the request has no {@code api_token}.
     */
    public ValidRequest validate(LoraxRequest request, boolean streaming, String headerToken) {
        long start = System.nanoTime();
        try {
            ValidRequest valid = validator().validate(request, streaming, headerToken);
            checked(valid.parameters());
            trace().span("validation", start, System.nanoTime(), null);
            return valid;
        } catch (RuntimeException e) {
            trace().span("validation", start, System.nanoTime(), e);
            throw e;
        }
    }

    /**
     * A request's parameters alone, for a prompt known only once its adapter is (a chat's, rendered
     * with the adapter's template); {@link #validatePrompt} finishes it. Throws as {@link #validate}.
     */
    public ValidParameters validateParameters(GenerateParameters parameters, boolean streaming, String headerToken) {
        long start = System.nanoTime();
        try {
            ValidParameters valid = checked(validator().parameters(parameters, streaming, headerToken));
            trace().span("validation", start, System.nanoTime(), null);
            return valid;
        } catch (RuntimeException e) {
            trace().span("validation", start, System.nanoTime(), e);
            throw e;
        }
    }

    /** The prompt for parameters {@link #validateParameters} passed: checked against the limits and tokenized. */
    public ValidRequest validatePrompt(ValidParameters parameters, String inputs) {
        long start = System.nanoTime();
        try {
            ValidRequest valid = validator().prompt(parameters, inputs);
            trace().span("validation", start, System.nanoTime(), null);
            return valid;
        } catch (RuntimeException e) {
            trace().span("validation", start, System.nanoTime(), e);
            throw e;
        }
    }

    /**
     * Checks a request's constraint at once (unsupported keywords, bad patterns: 422 before anything
     * is queued); compiling it against the vocabulary happens later, off this thread. The OpenAI chat
     * route passes its tools here too, through {@link #checkConstraint}.
     */
    private static ValidParameters checked(ValidParameters p) {
        checkConstraint(p.constraint());
        return p;
    }

    /** As {@link #checked}, for a constraint on its own. */
    public static void checkConstraint(ConstraintSpec spec) {
        if (spec == null) {
            return;
        }
        try {
            Grammars.check(spec);
        } catch (GrammarException e) {
            throw new ValidationException(e.getMessage());
        }
    }

    private RequestValidator validator() {
        ModelRuntime rt = host.runtime();
        return new RequestValidator(rt.tokenizer(), rt.limits(), rt.catalog(), host.servedModel(),
                host.defaultAdapterId().orElse(null));
    }

    /**
     * Holds the adapter a request names (null for the base model: nothing to hold): checks the
     * caller's access to it, to every adapter of a merge, and only then leases it, loading it if
     * needed, so a refused caller learns nothing of it. Release the hold exactly once when the
     * request ends. The LoRAX routes hold through {@link #stream} and {@link #generate}; the chat
     * route holds first, as it needs the adapter's chat template to render the prompt.
     */
    public AdapterHold hold(ValidParameters parameters) {
        if (parameters.adapter() == null) {
            return AdapterHold.NONE;
        }
        ModelRuntime rt = host.runtime();
        return hold(rt, parameters, trace());
    }

    private static AdapterHold hold(ModelRuntime rt, ValidParameters parameters, RequestTrace trace) {
        return new AdapterHold(rt.adapters(), parameters.adapter(), parameters.token(),
                rt.access().check(parameters.adapter(), parameters.token()), trace);
    }

    /** The calling request's trace (OFF when tracing is off or the caller is no traced HTTP request). */
    private RequestTrace trace() {
        return RequestTrace.current(tracer);
    }

    /**
     * The tokens of one sequence, ending with a Finished event. The permit is taken now (429 when
     * the server is full) and returned when the stream ends, fails or is cancelled.
     */
    public Multi<TokenEvent> stream(ValidRequest request) {
        return stream(request, null);
    }

    /**
     * As above, under {@code held}, the request's {@link #hold} taken before it was validated (null:
     * the sequence holds its adapter itself); the sequence takes its own lease under it, on its
     * access check, and the caller releases {@code held} once the sequences are queued.
     */
    public Multi<TokenEvent> stream(ValidRequest request, AdapterHold held) {
        Permit permit = acquire();
        return events(request.generation(), request, held, trace()).onTermination().invoke(permit::release);
    }

    /** The whole result; with best_of, the candidate with the highest total logprob, plus the others. */
    public Uni<Result> generate(ValidRequest request) {
        return generate(request, null);
    }

    /** As above, under {@code held} as {@link #stream(ValidRequest, AdapterHold)} takes it. */
    public Uni<Result> generate(ValidRequest request, AdapterHold held) {
        if (request.bestOf() > 1) {
            checkCapacity(List.of(request), "`best_of` " + request.bestOf());
        }
        Permit permit = acquire();
        RequestTrace trace = trace();
        List<Multi<TokenEvent>> runs = new ArrayList<>();
        for (int i = 0; i < request.bestOf(); i++) {
            runs.add(events(i == 0 ? request.generation() : reseeded(request.generation()), request, held, trace));
        }
        return Multi.createBy().merging().streams(runs)
                .filter(e -> e instanceof TokenEvent.Finished)
                .map(e -> ((TokenEvent.Finished) e).generation())
                .collect().asList()
                .map(all -> {
                    List<Generation> sorted = new ArrayList<>(all);
                    sorted.sort(Comparator.comparingDouble(Generation::logprobSum).reversed());
                    Generation best = sorted.removeFirst();
                    return new Result(best, request.bestOf() > 1 ? sorted : List.of());
                })
                .onTermination().invoke(permit::release);
    }

    /**
     * Refuses (422) sequences that can never all be in flight together, however long the client
     * waits: more than max-concurrent-requests of them, or prompts that together need more KV
     * blocks than the whole cache holds (each is admitted with its prompt's blocks; new tokens take
     * blocks as they come). A full server is a 429; this is not.
     */
    public void checkCapacity(List<ValidRequest> sequences, String what) {
        Limits l = host.runtime().limits();
        if (sequences.size() > l.maxConcurrentRequests()) {
            throw new ValidationException(what + ": " + sequences.size() + " sequences, more than this server runs at once ("
                    + l.maxConcurrentRequests() + ", loraxj.max-concurrent-requests)");
        }
        long blocks = 0;
        for (ValidRequest v : sequences) {
            int prompt = v.generation().promptIds().length;
            blocks += (prompt + l.kvBlockSize() - 1) / l.kvBlockSize() * (long) Math.max(1, v.bestOf());
        }
        long total = l.maxBatchTotalTokens() / l.kvBlockSize();
        if (blocks > total) {
            throw new ValidationException(what + ": its prompts need " + blocks * l.kvBlockSize() + " KV cache slots together,"
                    + " more than the cache's " + total * l.kvBlockSize() + " (loraxj.max-batch-total-tokens)");
        }
    }

    /** A finished request: the chosen generation and, for best_of, the others. */
    public record Result(Generation best, List<Generation> others) {
    }

    /**
     * POST /tokenize, bounded: texts may be longer than a prompt (clients count tokens to decide what
     * to cut), but not longer than the whole KV cache, which no use of the answer needs. Refused
     * before tokenizing by length in chars, and after it by token count, so neither the work nor the
     * answer grows with what a client sends.
     */
    public TokenSpan[] tokenize(String text, boolean addSpecialTokens) {
        ModelRuntime rt = host.runtime();
        int max = rt.limits().maxBatchTotalTokens();
        if (rt.tokenizer().surelyLongerThan(text, max)) {
            throw new ValidationException("`inputs` must have at most " + max + " tokens (loraxj.max-batch-total-tokens). Given: "
                    + text.length() + " characters, at least " + text.length() / rt.tokenizer().maxCharsPerToken() + " tokens");
        }
        TokenSpan[] spans = rt.tokenizer().encodeWithOffsets(text, addSpecialTokens);
        if (spans.length > max) {
            throw new ValidationException("`inputs` must have at most " + max + " tokens (loraxj.max-batch-total-tokens). Given: " + spans.length);
        }
        return spans;
    }

    private static GenerationRequest reseeded(GenerationRequest r) {
        long seed = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
        return r.reseeded(seed, seed);
    }

    /**
     * One sequence's events. With an adapter, the sequence is queued at once while its {@link #hold}
     * checks the caller's access and then leases the adapter (loading it if needed). The sequence
     * joins a batch only when both are done, and fails (freeing its place) if either fails.
     */
    private Multi<TokenEvent> events(GenerationRequest request, ValidRequest valid, AdapterHold held, RequestTrace trace) {
        AdapterKey adapter = valid.adapter();
        ConstraintSpec constraint = valid.parameters().constraint();
        return Multi.createFrom().emitter(emitter -> {
            ModelRuntime rt = host.runtime();
            CompletableFuture<Grammar> grammar = constraint == null ? null
                    : rt.constraints().grammar(constraint).thenApply(g -> fits(g, request));
            if (adapter == null) {
                CompletableFuture<SequenceSetup> gate = grammar == null ? null : grammar.thenApply(SequenceSetup.NONE::withGrammar);
                Sequence seq = rt.engine().submit(request, new Forward(emitter, null, trace), null, gate);
                emitter.onTermination(seq::cancel);
                return;
            }
            AdapterHold hold = held == null ? hold(rt, valid.parameters(), trace) : held.share();
            CompletableFuture<SequenceSetup> adapterGate = hold.adapter().thenApply(a -> runWith(rt, adapter, a));
            CompletableFuture<SequenceSetup> gate = grammar == null ? adapterGate : adapterGate.thenCombine(grammar, SequenceSetup::withGrammar);
            Sequence seq;
            try {
                seq = rt.engine().submit(request, new Forward(emitter, adapter, trace), adapter, gate);
            } catch (RuntimeException e) {
                hold.release(); // never queued: nothing else will end it
                throw e;
            }
            emitter.onTermination(() -> {
                seq.cancel();
                hold.release();
            });
        }, BackPressureStrategy.BUFFER);
    }

    /** A grammar whose shortest output needs more tokens than the request may generate can never finish: refused (422). */
    private static Grammar fits(Grammar g, GenerationRequest request) {
        int max = request.stopping().maxNewTokens();
        if (g.minTokens() > max) {
            throw new ValidationException("`max_new_tokens` is " + max + ", but the shortest output the " + g.description()
                    + " allows needs at least " + g.minTokens() + " tokens (" + g.minBytes() + " bytes); raise it");
        }
        return g;
    }

    /**
     * What the sequence runs with. A per-request Medusa adapter is honoured only when the server
     * was started with default heads and it has enough heads for the speculated tokens (LoRAX's rules).
     */
    private static SequenceSetup runWith(ModelRuntime rt, AdapterKey key, LoadedAdapter a) {
        MedusaHeads heads = a.medusa();
        if (heads != null) {
            Speculation spec = rt.speculation();
            if (spec == null) {
                throw new AdapterRequestException("adapter " + key.name() + " carries Medusa heads, but this server was started without"
                        + " a default Medusa adapter (loraxj.speculative.medusa-adapter), so per-request heads cannot be used");
            }
            if (heads.numHeads() < spec.tokens()) {
                throw new AdapterRequestException("adapter " + key.name() + " has " + heads.numHeads() + " Medusa heads, fewer than the "
                        + spec.tokens() + " tokens this server speculates (loraxj.speculative.tokens)");
            }
        }
        return new SequenceSetup(a.lora(), heads);
    }

    private Permit acquire() {
        if (draining.draining()) {
            throw new NotReadyException("server is shutting down");
        }
        int max = host.runtime().limits().maxConcurrentRequests();
        if (inFlight.incrementAndGet() > max) {
            inFlight.decrementAndGet();
            throw new OverloadedException("Model is overloaded");
        }
        return new Permit();
    }

    private final class Permit {
        private final AtomicBoolean released = new AtomicBoolean();

        void release() {
            if (released.compareAndSet(false, true)) {
                inFlight.decrementAndGet();
            }
        }
    }

    /**
     * Hands engine events to the Mutiny emitter; runs on the engine thread and never blocks. When
     * traced, the end is emitted after the trace's spans, on the request's context (the engine is done with it).
     */
    private record Forward(MultiEmitter<? super TokenEvent> emitter, AdapterKey adapter, RequestTrace trace) implements SequenceListener {
        @Override
        public void onEvent(TokenEvent event) {
            if (event instanceof TokenEvent.Finished f) {
                trace.finished(adapter, f.generation(), () -> {
                    emitter.emit(event);
                    emitter.complete();
                });
                return;
            }
            emitter.emit(event);
        }

        @Override
        public void onError(Throwable error) {
            emitter.fail(error);
        }
    }
}
