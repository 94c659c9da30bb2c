package dev.loraxj.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.backend.cpu.CpuBackend;
import dev.loraxj.backend.cpu.Parallel;
import dev.loraxj.engine.Sampler;
import dev.loraxj.engine.SamplingParams;
import dev.loraxj.grammar.ConstraintSpec;
import dev.loraxj.grammar.Grammar;
import dev.loraxj.grammar.GrammarState;
import dev.loraxj.grammar.Grammars;
import dev.loraxj.grammar.TokenVocabulary;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The cost of JSON-schema masks per decode step: {@code batch} sequences decode on the random model
 * (the forward pass, timed), and the same number of rows are sampled at temperature 1 free and under
 * a grammar (mask, draw, accept: timed separately, in alternating slices). Reports the constrained
 * step against the free step, each being forward plus sampling. The vocabulary is synthetic (every
 * byte, then word pieces with and without a leading space, digits and JSON punctuation runs) at the
 * model's size, since no 32000-token tokenizer ships with the test assets.
 * <pre>
 * java --add-modules jdk.incubator.vector -jar target/quarkus-app/quarkus-run.jar bench grammar \
 *     [--shape 110m|tiny] [--batch 32] [--steps 16] [--rounds 3] [--threads N] [--dir DIR]
 * </pre>
 */
public final class GrammarBench {

    static final String SCHEMA = """
            {"type":"object","properties":{
              "name":{"type":"string","maxLength":24},
              "age":{"type":"integer","minimum":0,"maximum":130},
              "email":{"type":"string","format":"email"},
              "born":{"type":"string","format":"date"},
              "tags":{"type":"array","items":{"type":"string","maxLength":12},"maxItems":6},
              "address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"},
                         "zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["city"]},
              "score":{"type":"number","minimum":0,"maximum":100},
              "status":{"enum":["active","inactive","banned"]}},
             "required":["name","age","status"]}""";

    private static final String USAGE = "usage: bench grammar [--shape 110m|tiny] [--batch 32] [--steps 16] [--rounds 3] [--threads N] [--dir DIR]";

    private GrammarBench() {
    }

    public static void main(String[] args) {
        String shape = "110m";
        int batch = 32;
        int steps = 16;
        int rounds = 3;
        int threads = Runtime.getRuntime().availableProcessors();
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "loraxj-bench");
        for (int i = 0; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--shape" -> shape = v;
                case "--batch" -> batch = Integer.parseInt(v);
                case "--steps" -> steps = Integer.parseInt(v);
                case "--rounds" -> rounds = Integer.parseInt(v);
                case "--threads" -> threads = Integer.parseInt(v);
                case "--dir" -> dir = Path.of(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + "\n" + USAGE);
            }
        }
        run(shape, batch, steps, rounds, threads, dir, System.out);
    }

    static void run(String shape, int batch, int steps, int rounds, int threads, Path dir, PrintStream out) {
        Path modelDir = dir.resolve(shape + "-f32");
        Bench.ensureModel(modelDir, shape, DType.F32, out);
        try (Parallel pool = new Parallel(threads); Checkpoint ckpt = Checkpoint.open(modelDir)) {
            ModelConfig cfg = ModelConfig.load(modelDir);
            int vocab = cfg.vocabSize();
            TokenVocabulary tokens = new TokenVocabulary(syntheticVocabulary(vocab), new int[]{2});
            long c0 = System.nanoTime();
            Grammar grammar = Grammars.compile(new ConstraintSpec.JsonSchema(new ObjectMapper().readTree(SCHEMA)), tokens);
            double compileMs = (System.nanoTime() - c0) / 1e6;
            out.printf(Locale.ROOT, "loraxj grammar bench: shape %s, batch %d, vocabulary %d (synthetic), %d threads%n", shape, batch, vocab, threads);
            out.printf(Locale.ROOT, "schema compiled in %.0f ms: %d states, %.1f MiB of masks%n", compileMs, grammar.states(),
                    grammar.bytes() / 1048576.0);
            try (CpuBackend backend = CpuBackend.load(ckpt, cfg, pool)) {
                int maxLen = 8 + steps * (rounds + 1) + 8;
                backend.allocateKvCache(DecodeThroughput.blocksNeeded(batch, maxLen, 16), 16);
                DecodeThroughput decode = new DecodeThroughput(backend, batch, 8, maxLen, 16, 0);
                Rows free = new Rows(batch, vocab, null);
                Rows constrained = new Rows(batch, vocab, grammar);
                decode.steps(2);
                free.steps(steps);
                constrained.steps(steps);
                out.println("round  forward ms/step  free sampling ms/step  constrained ms/step  constrained/free step");
                double worst = 0;
                for (int r = 0; r < rounds; r++) {
                    DecodeThroughput.Result before = decode.result();
                    decode.steps(steps);
                    DecodeThroughput.Result after = decode.result();
                    double fwd = (after.nanos() - before.nanos()) / 1e6 / steps;
                    double f = free.steps(steps) / 1e6 / steps;
                    double c = constrained.steps(steps) / 1e6 / steps;
                    double ratio = (fwd + c) / (fwd + f);
                    worst = Math.max(worst, ratio);
                    out.printf(Locale.ROOT, "%5d  %15.2f  %21.3f  %19.3f  %20.3f%n", r + 1, fwd, f, c, ratio);
                }
                out.printf(Locale.ROOT, "constrained step / free step, worst round: %.3f (target <= 1.10); %d outputs completed%n", worst,
                        constrained.completed);
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code batch} rows of fixed random logits, sampled at temperature 1, each under its own grammar state when given one. */
    private static final class Rows {
        final Sampler[] samplers;
        final GrammarState[] states;
        final Grammar grammar;
        final float[][] logits;
        final int[] history = new int[1];
        int completed;

        Rows(int batch, int vocab, Grammar grammar) {
            this.grammar = grammar;
            samplers = new Sampler[batch];
            states = new GrammarState[batch];
            logits = new float[batch][vocab];
            SplittableRandom rng = new SplittableRandom(11);
            for (int s = 0; s < batch; s++) {
                samplers[s] = new Sampler(new SamplingParams(true, 1f, 0, 1f, 1f, 1f, 0f, 0f, 100 + s, Map.of()), vocab);
                for (int i = 0; i < vocab; i++) {
                    logits[s][i] = (float) (rng.nextGaussian() * 3);
                }
                states[s] = grammar == null ? null : grammar.start();
            }
        }

        /** Samples every row {@code n} times; returns the nanoseconds taken. */
        long steps(int n) {
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                for (int s = 0; s < samplers.length; s++) {
                    GrammarState st = states[s];
                    int id = samplers[s].next(logits[s], 0, history, 1, 1, st, 200);
                    if (st != null) {
                        if (id == 2) {
                            states[s] = grammar.start();
                            completed++;
                            continue;
                        }
                        st.accept(id);
                        if (!st.canContinue()) {
                            states[s] = grammar.start();
                            completed++;
                        }
                    }
                }
            }
            return System.nanoTime() - t0;
        }
    }

    /**
     * {@code size} token byte strings: none for ids 0-2 (unk, bos, eos), the 256 bytes, JSON punctuation
     * runs, digit runs, then two- to five-letter pieces with and without a leading space, in a fixed order.
     */
    static byte[][] syntheticVocabulary(int size) {
        Set<String> pieces = new LinkedHashSet<>();
        String[] punct = {"{", "}", "[", "]", "\"", ":", ",", " ", "\n", "{\"", "\"}", "\":", "\": ", "\",", "\", \"", "\": \"", "},", "}}",
                "[{", "[]", "{}", "],", "]}", "\"]", "[\"", " {", " [", " \"", ", ", ": ", "\n  ", "    ", "true", "false", "null", ".", "-",
                "@", "_", "'", "!", "?", "\\n", "\\\""};
        for (String p : punct) {
            pieces.add(p);
        }
        for (int d = 0; d < 1000; d++) {
            pieces.add(Integer.toString(d));
        }
        String letters = "etaoinshrdlcumwfgypbvkjxqz";
        SplittableRandom rng = new SplittableRandom(5);
        while (pieces.size() < size) {
            int len = 2 + rng.nextInt(4);
            StringBuilder sb = new StringBuilder(rng.nextBoolean() ? " " : "");
            for (int k = 0; k < len; k++) {
                // skewed toward common letters, as real word pieces are
                sb.append(letters.charAt(Math.min(letters.length() - 1, (int) Math.abs(rng.nextGaussian() * 7))));
            }
            if (rng.nextInt(8) == 0) {
                sb.setCharAt(sb.length() - 1, Character.toUpperCase(sb.charAt(sb.length() - 1)));
            }
            pieces.add(sb.toString());
        }
        byte[][] out = new byte[size][];
        int id = 3;
        for (int b = 0; b < 256 && id < size; b++) {
            out[id++] = new byte[]{(byte) b};
        }
        for (String p : pieces) {
            if (id >= size) {
                break;
            }
            out[id++] = p.getBytes(StandardCharsets.UTF_8);
        }
        return out;
    }
}
