package dev.loraxj.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonSchemaGrammarTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void randomSchemasGiveValidOutputOnEveryWalk() {
        int walks = 0;
        for (long seed = 0; seed < 200; seed++) {
            JsonNode schema = new RandomSchemas(seed).next();
            for (TokenVocabulary vocab : List.of(Vocabularies.synthetic(), Vocabularies.stories260K())) {
                Grammar g = Grammars.compile(new ConstraintSpec.JsonSchema(schema), vocab);
                for (long w = 0; w < 3; w++) {
                    Walk.Result r = Walk.run(g, vocab, seed * 31 + w, 400);
                    assertTrue(r.ended(), "schema " + seed + " walk " + w + " not complete: " + r.text());
                    SchemaJudge.assertValid(schema, r.text(), "schema " + seed + " walk " + w);
                    walks++;
                }
            }
        }
        assertEquals(1200, walks);
    }

    /** Too few tokens to write freely: the walk closes every open string, array and object in time. */
    @Test
    void outputEndsValidWithinATightTokenBudget() throws Exception {
        JsonNode schema = JSON.readTree("""
                {"type":"object","properties":{"a":{"type":"string"},"b":{"type":"array","items":{"type":"string"}},
                 "c":{"type":"object","properties":{"d":{"type":"integer"}},"required":["d"]}},"required":["a","b","c"]}""");
        TokenVocabulary vocab = Vocabularies.synthetic();
        Grammar g = Grammars.compile(new ConstraintSpec.JsonSchema(schema), vocab);
        int min = g.minBytes();
        for (long seed = 0; seed < 50; seed++) {
            Walk.Result r = Walk.run(g, vocab, seed, min + 3);
            assertTrue(r.ended(), r.text());
            SchemaJudge.assertValid(schema, r.text(), "seed " + seed);
        }
    }

    @Test
    void anyJsonObjectWhenNoSchema() {
        TokenVocabulary vocab = Vocabularies.synthetic();
        Grammar g = Grammars.compile(new ConstraintSpec.JsonSchema(null), vocab);
        for (long seed = 0; seed < 50; seed++) {
            Walk.Result r = Walk.run(g, vocab, seed, 120);
            assertTrue(r.ended(), r.text());
            JsonNode v = assertParses(r.text());
            assertTrue(v.isObject(), r.text());
        }
    }

    private static JsonNode assertParses(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new AssertionError("does not parse: " + text, e);
        }
    }

    @Test
    void unsupportedKeywordsAreRefusedNamingThem() throws Exception {
        for (String[] c : new String[][]{
                {"{\"type\":\"object\",\"patternProperties\":{\"^a\":{}}}", "patternProperties"},
                {"{\"not\":{\"type\":\"string\"}}", "`not`"},
                {"{\"type\":\"array\",\"uniqueItems\":true}", "uniqueItems"},
                {"{\"type\":\"integer\",\"multipleOf\":3}", "multipleOf"},
                {"{\"type\":\"string\",\"format\":\"uri\"}", "format `uri`"},
                {"{\"type\":\"string\",\"pattern\":\"(?=a)\"}", "lookaround"},
                {"{\"$ref\":\"https://example.com/s.json\"}", "$ref"},
                {"{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}", "oneOf"},
                {"{\"anyOf\":[{\"$ref\":\"#\"},{\"type\":\"string\"}]}", "refers to itself"},
                {"{\"type\":\"number\",\"minimum\":0.5}", "whole numbers"},
                {"false", "no value"}}) {
            GrammarException e = assertThrows(GrammarException.class,
                    () -> Grammars.compile(new ConstraintSpec.JsonSchema(JSON.readTree(c[0])), Vocabularies.synthetic()), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
        }
    }

    /** lorax#392: a date format gave invalid JSON. Every date here must exist, in every year. */
    @Test
    void datesAndTimesAreRealOnes() throws Exception {
        JsonNode schema = JSON.readTree("""
                {"type":"object","properties":{"d":{"type":"string","format":"date"},"t":{"type":"string","format":"date-time"},
                 "u":{"type":"string","format":"uuid"},"e":{"type":"string","format":"email"}},"required":["d","t","u","e"]}""");
        TokenVocabulary vocab = Vocabularies.synthetic();
        Grammar g = Grammars.compile(new ConstraintSpec.JsonSchema(schema), vocab);
        for (long seed = 0; seed < 100; seed++) {
            Walk.Result r = Walk.run(g, vocab, seed, 300);
            SchemaJudge.assertValid(schema, r.text(), "seed " + seed);
            JsonNode v = assertParses(r.text());
            java.time.LocalDate.parse(v.get("d").asText());
            java.time.OffsetDateTime.parse(v.get("t").asText());
            java.util.UUID.fromString(v.get("u").asText());
        }
    }
}
