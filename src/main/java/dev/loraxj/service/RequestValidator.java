package dev.loraxj.service;

import dev.loraxj.adapter.AdapterCatalog;
import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.adapter.ApiToken;
import dev.loraxj.adapter.MergeSpec;
import dev.loraxj.engine.GenerationRequest;
import dev.loraxj.engine.SamplingParams;
import dev.loraxj.engine.StoppingParams;
import dev.loraxj.grammar.ConstraintSpec;
import dev.loraxj.model.Tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Checks a request against LoRAX's rules and the server's limits, tokenizes it, and resolves every
 * default. Messages name the field, in LoRAX's words where LoRAX has them.
 */
public final class RequestValidator {

    private final Tokenizer tokenizer;
    private final Limits limits;
    private final AdapterCatalog catalog;
    private final ServedModel baseModel;
    private final String defaultAdapterId;

    /**
     * @param baseModel        the served model: its names, as an adapter id, mean no adapter
     * @param defaultAdapterId the adapter for requests that name none (null: the base model)
     */
    public RequestValidator(Tokenizer tokenizer, Limits limits, AdapterCatalog catalog, ServedModel baseModel, String defaultAdapterId) {
        this.tokenizer = tokenizer;
        this.limits = limits;
        this.catalog = catalog;
        this.baseModel = baseModel;
        this.defaultAdapterId = defaultAdapterId;
    }

    /** The adapter a request names (adapter_id, adapter_source), its merge, the server default, or null for the base model. */
    AdapterKey adapter(GenerateParameters p) {
        String source = source(p);
        if (p.mergedAdapters() != null) {
            if (p.adapterId() != null && !p.adapterId().isEmpty()) {
                throw new ValidationException("`adapter_id` and `merged_adapters`: at most one of them may be given");
            }
            return merge(p.mergedAdapters(), source, p.seed());
        }
        String id = p.adapterId();
        if (id == null || id.isEmpty()) {
            if (defaultAdapterId == null || defaultAdapterId.isEmpty()) {
                return null;
            }
            id = defaultAdapterId;
        }
        if (baseModel.names(id) || id.equals("__base_model__")) {
            return null;
        }
        if (id.chars().anyMatch(c -> c < 0x20 || c == 0x7f) || id.length() > 1024) {
            throw new ValidationException("`adapter_id` must be at most 1024 characters without control characters");
        }
        return catalog.canonical(AdapterRef.of(id, source));
    }

    public ValidRequest validate(LoraxRequest request, boolean streaming) {
        return validate(request, streaming, null);
    }

    /** @param headerToken the private-adapter token the request's headers carry, or null */
    public ValidRequest validate(LoraxRequest request, boolean streaming, String headerToken) {
        requireInputs(request.inputs());
        return tokenized(parameters(request.params(), streaming, headerToken), request.inputs());
    }

    /**
     * Everything but the prompt: the adapter, the sampling and stopping parameters, and the limits
     * that do not depend on the prompt's length.
     *
     * @param headerToken the private-adapter token the request's headers carry, or null
     */
    public ValidParameters parameters(GenerateParameters p, boolean streaming, String headerToken) {
        AdapterKey adapter = adapter(p);
        ConstraintSpec constraint = OutputConstraints.of(p.responseFormat(), p.grammar());
        if (Boolean.TRUE.equals(p.watermark())) {
            throw new ValidationException("`watermark` is not supported");
        }
        if (Boolean.TRUE.equals(p.applyChatTemplate())) {
            throw new ValidationException("`apply_chat_template`: this model has no chat template");
        }
        boolean warpers = p.temperature() != null && p.temperature() != 1.0f
                || p.topK() != null && p.topK() > 0
                || p.topP() != null && p.topP() < 1.0f
                || p.typicalP() != null && p.typicalP() < 1.0f;
        boolean sampling = Boolean.TRUE.equals(p.doSample()) || warpers;
        int bestOf = p.bestOf() == null ? 1 : p.bestOf();
        if (bestOf < 1 || bestOf > limits.maxBestOf()) {
            throw new ValidationException("`best_of` must be > 0 and <= " + limits.maxBestOf() + ". Given: " + bestOf);
        }
        if (bestOf > 1 && !sampling) {
            throw new ValidationException("`best_of`: you must use sampling when `best_of` is > 1");
        }
        if (bestOf > 1 && p.seed() != null) {
            throw new ValidationException("`seed` must not be set when `best_of` > 1");
        }
        if (bestOf > 1 && streaming) {
            throw new ValidationException("`best_of` != 1 is not supported when streaming tokens");
        }
        boolean decoderInputDetails = Boolean.TRUE.equals(p.decoderInputDetails());
        if (decoderInputDetails && streaming) {
            throw new ValidationException("`decoder_input_details` == true is not supported when streaming tokens");
        }
        float temperature = p.temperature() == null ? 1.0f : p.temperature();
        if (!(temperature > 0) || !Float.isFinite(temperature)) {
            throw new ValidationException("`temperature` must be strictly positive");
        }
        float repetition = p.repetitionPenalty() == null ? 1.0f : p.repetitionPenalty();
        if (!(repetition > 0) || !Float.isFinite(repetition)) {
            throw new ValidationException("`repetition_penalty` must be strictly positive");
        }
        float frequency = penalty("frequency_penalty", p.frequencyPenalty());
        float presence = penalty("presence_penalty", p.presencePenalty());
        float topP = p.topP() == null ? 1.0f : p.topP();
        if (!(topP > 0 && topP <= 1)) {
            throw new ValidationException("`top_p` must be > 0.0 and <= 1.0");
        }
        float typicalP = p.typicalP() == null ? 1.0f : p.typicalP();
        if (!(typicalP > 0 && typicalP <= 1)) {
            throw new ValidationException("`typical_p` must be > 0.0 and <= 1.0");
        }
        int topK = p.topK() == null ? 0 : p.topK();
        if (topK < 0) {
            throw new ValidationException("`top_k` must be >= 0 (0 disables it)");
        }
        int alternatives = p.returnKAlternatives() == null ? 0 : p.returnKAlternatives();
        if (alternatives < 0 || alternatives > 100) {
            throw new ValidationException("`return_k_alternatives` must be between 0 and 100");
        }
        if (p.maxNewTokens() != null && p.maxNewTokens() < 1) {
            throw new ValidationException("`max_new_tokens` must be strictly positive");
        }
        List<String> stops = p.stop() == null ? List.of() : p.stop();
        if (stops.size() > limits.maxStopSequences()) {
            throw new ValidationException("`stop` supports up to " + limits.maxStopSequences() + " stop sequences. Given: " + stops.size());
        }
        for (String s : stops) {
            if (s == null || s.isEmpty()) {
                throw new ValidationException("`stop` sequences must be non-empty strings");
            }
        }
        if (p.truncate() != null && (p.truncate() < 1 || p.truncate() > limits.maxInputLength())) {
            throw new ValidationException("`truncate` must be strictly positive and less than " + limits.maxInputLength() + ". Given: " + p.truncate());
        }
        java.util.Map<Integer, Float> bias = logitBias(p.logitBias());
        long seed = p.seed() != null ? p.seed() : ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
        SamplingParams sampling1 = new SamplingParams(sampling, temperature, topK, topP, typicalP, repetition,
                frequency, presence, seed, bias);
        boolean details = Boolean.TRUE.equals(p.details()) || decoderInputDetails;
        if (p.cacheSalt() != null && (p.cacheSalt().isEmpty() || p.cacheSalt().length() > 1024)) {
            throw new ValidationException("`cache_salt` must be a non-empty string of at most 1024 characters");
        }
        return new ValidParameters(adapter, ApiToken.from(p.apiToken(), headerToken), sampling1, sampling ? seed : null,
                p.maxNewTokens(), stops, Boolean.TRUE.equals(p.ignoreEosToken()), p.truncate(), bestOf,
                Boolean.TRUE.equals(p.returnFullText()), details, decoderInputDetails, alternatives, p.cacheSalt(), constraint);
    }

    /** The prompt, checked against the limits and tokenized, with the parameters it was sent with. */
    public ValidRequest prompt(ValidParameters p, String inputs) {
        requireInputs(inputs);
        return tokenized(p, inputs);
    }

    private static void requireInputs(String inputs) {
        if (inputs == null || inputs.isEmpty()) {
            throw new ValidationException("`inputs` cannot be empty");
        }
    }

    private ValidRequest tokenized(ValidParameters p, String inputs) {
        int[] ids = encodeBounded(inputs, p.truncate());
        if (ids.length == 0) {
            throw new ValidationException("`inputs` tokenized to nothing");
        }
        if (p.truncate() != null && ids.length > p.truncate()) {
            ids = Arrays.copyOfRange(ids, ids.length - p.truncate(), ids.length);
            inputs = tokenizer.decode(ids, 0, ids.length, false);
        }
        if (ids.length > limits.maxInputLength()) {
            throw new ValidationException("`inputs` must have less than " + limits.maxInputLength()
                    + " tokens. Given: " + ids.length + " (use `truncate` to keep the last tokens)");
        }
        int room = limits.maxTotalTokens() - ids.length;
        int maxNew = p.maxNewTokens() == null ? room : p.maxNewTokens();
        if (maxNew > room) {
            throw new ValidationException("`max_new_tokens`: `inputs` tokens + `max_new_tokens` must be <= "
                    + limits.maxTotalTokens() + ". Given: " + ids.length + " `inputs` tokens and " + maxNew + " `max_new_tokens`");
        }
        GenerationRequest generation = new GenerationRequest(ids, p.sampling(),
                new StoppingParams(maxNew, p.stops(), p.ignoreEosToken()),
                p.details() || p.bestOf() > 1, p.decoderInputDetails(), p.alternatives(), p.seedReported(), p.cacheSalt());
        return new ValidRequest(inputs, generation, p);
    }

    /**
     * Tokenizes no more than can matter. Without truncate, a text with more chars than the longest
     * prompt can cover ({@code maxInputLength * maxCharsPerToken}) is refused before tokenizing it.
     * With truncate, only a tail long enough to hold {@code truncate + TAIL_SLACK} tokens is
     * tokenized; the slack tokens absorb the cut (the caller keeps the last {@code truncate}).
     */
    private int[] encodeBounded(String inputs, Integer truncate) {
        long perToken = tokenizer.maxCharsPerToken();
        if (truncate == null) {
            if (tokenizer.surelyLongerThan(inputs, limits.maxInputLength())) {
                throw new ValidationException("`inputs` must have less than " + limits.maxInputLength() + " tokens. Given: "
                        + inputs.length() + " characters, at least " + inputs.length() / perToken
                        + " tokens (use `truncate` to keep the last tokens)");
            }
            return tokenizer.encode(inputs);
        }
        long window = (truncate + TAIL_SLACK) * perToken;
        if (inputs.length() <= window) {
            return tokenizer.encode(inputs);
        }
        int start = (int) (inputs.length() - window);
        if (Character.isLowSurrogate(inputs.charAt(start))) {
            start--; // never split a surrogate pair
        }
        int[] tail = tokenizer.encode(inputs.substring(start));
        if (tail.length < truncate + TAIL_SLACK) {
            return tokenizer.encode(inputs); // a normalizer dropped characters: the bound does not hold, so be exact
        }
        return tail; // longer than truncate: the caller keeps the last ones
    }

    /** Tokens tokenized before the kept ones when truncating, so the cut of the text cannot change them. */
    static final int TAIL_SLACK = 64;

    private String source(GenerateParameters p) {
        String source = p.adapterSource() == null || p.adapterSource().isEmpty() ? catalog.defaultSource() : p.adapterSource();
        if (!catalog.has(source)) {
            throw new ValidationException("`adapter_source` must be one of " + String.join(", ", catalog.names()) + ". Given: " + source);
        }
        return source;
    }

    /** LoRAX's merged_adapters, checked: every listed adapter comes from {@code source}; DARE is seeded by the request. */
    MergeSpec merge(MergedAdapters m, String source, Long seed) {
        if (m.ids() == null || m.ids().isEmpty()) {
            throw new ValidationException("`merged_adapters.ids`: at least one adapter ID must be provided");
        }
        java.util.List<AdapterRef> refs = new java.util.ArrayList<>();
        for (String id : m.ids()) {
            if (id == null || id.isEmpty() || id.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                throw new ValidationException("`merged_adapters.ids` must be non-empty adapter ids without control characters");
            }
            refs.add(catalog.canonical(AdapterRef.of(id, source)));
        }
        if (m.weights() != null && !m.weights().isEmpty() && m.weights().size() != refs.size()) {
            throw new ValidationException("`merged_adapters.weights`: number of adapter IDs (" + refs.size()
                    + ") must match number of adapter weights (" + m.weights().size() + ")");
        }
        if (m.weights() != null && m.weights().stream().anyMatch(w -> w == null || !Float.isFinite(w))) {
            throw new ValidationException("`merged_adapters.weights` must be finite numbers");
        }
        MergeSpec.Strategy strategy = m.mergeStrategy() == null ? MergeSpec.Strategy.LINEAR : MergeSpec.Strategy.parse(m.mergeStrategy());
        if (strategy == null) {
            throw new ValidationException("`merged_adapters.merge_strategy` must be one of linear, ties, dare_linear, dare_ties. Given: "
                    + m.mergeStrategy());
        }
        MergeSpec.SignMethod sign = m.majoritySignMethod() == null ? MergeSpec.SignMethod.TOTAL : MergeSpec.SignMethod.parse(m.majoritySignMethod());
        if (sign == null) {
            throw new ValidationException("`merged_adapters.majority_sign_method` must be total or frequency. Given: " + m.majoritySignMethod());
        }
        float density = m.density() == null ? 1f : m.density();
        if (strategy != MergeSpec.Strategy.LINEAR && !(density > 0 && density <= 1)) {
            throw new ValidationException("`merged_adapters.density` must be in (0, 1]. Given: " + m.density());
        }
        if (strategy == MergeSpec.Strategy.LINEAR && m.density() != null && !(density > 0 && density <= 1)) {
            throw new ValidationException("`merged_adapters.density` must be in (0, 1]. Given: " + m.density());
        }
        return new MergeSpec(refs, m.weights(), strategy, density, sign, seed == null ? MergeSpec.DEFAULT_SEED : seed);
    }

    /** OpenAI's logit_bias: token id (as a string key) to a bias in [-100, 100]. */
    private java.util.Map<Integer, Float> logitBias(java.util.Map<String, Float> raw) {
        if (raw == null || raw.isEmpty()) {
            return Map.of();
        }
        java.util.Map<Integer, Float> out = new java.util.HashMap<>();
        for (java.util.Map.Entry<String, Float> e : raw.entrySet()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey().trim());
            } catch (NumberFormatException x) {
                throw new ValidationException("`logit_bias` keys must be token ids. Given: " + e.getKey());
            }
            if (id < 0 || id >= tokenizer.vocabSize()) {
                throw new ValidationException("`logit_bias` token id " + id + " is outside the vocabulary (0.." + (tokenizer.vocabSize() - 1) + ")");
            }
            Float v = e.getValue();
            if (v == null || !(v >= -100f && v <= 100f)) {
                throw new ValidationException("`logit_bias` values must be between -100 and 100");
            }
            out.put(id, v);
        }
        return out;
    }

    private static float penalty(String field, Float value) {
        if (value == null) {
            return 0f;
        }
        if (!(value >= -2f && value <= 2f)) {
            throw new ValidationException("`" + field + "` must be between -2.0 and 2.0");
        }
        return value;
    }
}
