package dev.loraxj.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.MedusaLoader;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.grammar.ConstraintSpec;
import dev.loraxj.grammar.Grammar;
import dev.loraxj.grammar.Grammars;
import dev.loraxj.grammar.SchemaJudge;
import dev.loraxj.grammar.TokenVocabulary;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Constrained decoding in the engine: masks inside mixed batches, every output valid, each the same as alone; Medusa stays lossless. */
class ConstrainedEngineTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    static Stories260KModel model;
    static TokenVocabulary vocab;

    @BeforeAll
    static void load() {
        model = Stories260KModel.open();
        vocab = new TokenVocabulary(model.tokenizer().tokenBytes(), model.tokenizer().eosIds());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    record Case(GenerationRequest request, SequenceSetup setup, JsonNode schema, Pattern regex) {
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** 96 sequences (three times past 32): free and constrained, greedy and seeded, three schemas, a regex, three adapters. */
    private static List<Case> cases() {
        JsonNode person = json("""
                {"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":120},
                 "born":{"type":"string","format":"date"}},"required":["name","age"],"additionalProperties":false}""");
        JsonNode list = json("""
                {"type":"array","items":{"enum":["cat","dog","bird"]},"minItems":1,"maxItems":4}""");
        JsonNode tree = json("""
                {"$defs":{"n":{"type":"object","properties":{"v":{"type":"number","minimum":-5,"maximum":5},
                 "kids":{"type":"array","items":{"$ref":"#/$defs/n"},"maxItems":2}},"required":["v"]}},"$ref":"#/$defs/n"}""");
        Grammar gPerson = Grammars.compile(new ConstraintSpec.JsonSchema(person), vocab);
        Grammar gList = Grammars.compile(new ConstraintSpec.JsonSchema(list), vocab);
        Grammar gTree = Grammars.compile(new ConstraintSpec.JsonSchema(tree), vocab);
        String rx = "(yes|no), because [a-z ]{3,20}\\.";
        Grammar gRegex = Grammars.compile(new ConstraintSpec.Regex(rx), vocab);
        SequenceSetup[] adapters = {SequenceSetup.NONE, model.adapter("lora-name-max"), model.adapter("lora-name-sue")};
        List<Case> out = new ArrayList<>();
        for (int i = 0; i < 96; i++) {
            String prompt = MedusaEngineTest.PROMPTS[i % MedusaEngineTest.PROMPTS.length];
            SamplingParams sampling = i % 3 == 0 ? SamplingParams.greedy()
                    : new SamplingParams(true, 1.0f, 0, 1f, 1f, 1f, 0f, 0f, 500 + i, Map.of());
            GenerationRequest r = new GenerationRequest(model.tokenizer().encode(prompt), sampling,
                    new StoppingParams(60 + i % 7, List.of(), false), true, false, 0, sampling.doSample() ? sampling.seed() : null);
            SequenceSetup a = adapters[i % 3];
            switch (i % 5) {
                case 0 -> out.add(new Case(r, a, null, null));
                case 1 -> out.add(new Case(r, a.withGrammar(gPerson), person, null));
                case 2 -> out.add(new Case(r, a.withGrammar(gList), list, null));
                case 3 -> out.add(new Case(r, a.withGrammar(gTree), tree, null));
                default -> out.add(new Case(r, a.withGrammar(gRegex), null, Pattern.compile(rx)));
            }
        }
        return out;
    }

    private static List<Generation> run(EngineConfig config, List<Case> cases, boolean together) throws Exception {
        List<Generation> out = new ArrayList<>();
        Engine e = new Engine(model.backend(), model.tokenizer(), config, new SimpleMeterRegistry()).start();
        try {
            List<EngineHarness.Collector> cs = new ArrayList<>();
            for (Case c : cases) {
                EngineHarness.Collector col = new EngineHarness.Collector();
                e.submit(c.request(), col, null, CompletableFuture.completedFuture(c.setup()));
                if (!together) {
                    out.add(col.await());
                } else {
                    cs.add(col);
                }
            }
            for (EngineHarness.Collector col : cs) {
                out.add(col.await());
            }
            return out;
        } finally {
            e.close();
        }
    }

    @Test
    void mixedBatchesGiveEveryConstrainedSequenceValidOutputAndTheTokensItGetsAlone() throws Exception {
        List<Case> cases = cases();
        List<Generation> together = run(new EngineConfig(16384, 8192, 16), cases, true);
        List<Generation> alone = run(new EngineConfig(16384, 8192, 16), cases, false);
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            Generation g = together.get(i);
            assertEquals(Stories260KModel.Tokens.of(alone.get(i)), Stories260KModel.Tokens.of(g), "sequence " + i + " alone vs batched");
            if (c.setup().grammar() == null) {
                continue;
            }
            assertEquals(FinishReason.EOS_TOKEN, g.finishReason(), "sequence " + i + " ends by completing: " + g.text());
            if (c.regex() != null) {
                assertTrue(c.regex().matcher(g.text()).matches(), "sequence " + i + ": " + g.text());
            } else {
                SchemaJudge.assertValid(c.schema(), g.text(), "sequence " + i);
            }
        }
    }

    /** Verifying Medusa candidates under the mask keeps the output what decoding one token at a time gives. */
    @Test
    void medusaUnderAGrammarIsLossless() throws Exception {
        MedusaHeads heads = MedusaLoader.load(SharedAssets.adapter("medusa-v1"), model.cfg());
        List<Case> cases = cases().subList(0, 30);
        List<Generation> plain = run(new EngineConfig(16384, 8192, 16), cases, true);
        List<Generation> spec = run(new EngineConfig(16384, 8192, 16, 1024, 2_000_000_000L, heads, 3, 64), cases, true);
        long skipped = 0;
        for (int i = 0; i < cases.size(); i++) {
            assertEquals(plain.get(i).text(), spec.get(i).text(), "sequence " + i);
            skipped += spec.get(i).skippedTokens();
        }
        assertTrue(skipped > 0, "some candidates were accepted under the masks");
    }
}
