package dev.loraxj.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.grammar.ConstraintSpec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRAX's response_format and TGI's grammar read into constraints; malformed shapes are refused naming the field. */
class OutputConstraintsTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"]}";

    static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    static ConstraintSpec format(String s) {
        return OutputConstraints.of(json(s), null);
    }

    static ConstraintSpec grammar(String s) {
        return OutputConstraints.of(null, json(s));
    }

    @Test
    void loraxResponseFormatTakesAnOptionalSchema() {
        assertEquals(new ConstraintSpec.JsonSchema(json(SCHEMA)), format("{\"type\":\"json_object\",\"schema\":" + SCHEMA + "}"));
        assertEquals(new ConstraintSpec.JsonSchema(null), format("{\"type\":\"json_object\"}"));
        assertEquals(new ConstraintSpec.JsonSchema(json(SCHEMA)), format("{\"type\":\"json_schema\",\"schema\":" + SCHEMA + "}"));
        assertEquals(new ConstraintSpec.JsonSchema(json(SCHEMA)),
                format("{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"p\",\"schema\":" + SCHEMA + ",\"strict\":true}}"));
        assertNull(format("{\"type\":\"text\"}"));
        assertNull(OutputConstraints.of(null, null));
    }

    @Test
    void tgiGrammarTakesJsonRegexAndJsonSchema() {
        assertEquals(new ConstraintSpec.JsonSchema(json(SCHEMA)), grammar("{\"type\":\"json\",\"value\":" + SCHEMA + "}"));
        assertEquals(new ConstraintSpec.JsonSchema(json(SCHEMA)), grammar("{\"type\":\"json\",\"value\":" + JSON.valueToTree(SCHEMA) + "}"));
        assertEquals(new ConstraintSpec.JsonSchema(json(SCHEMA)), grammar("{\"type\":\"json_object\",\"value\":" + SCHEMA + "}"));
        assertEquals(new ConstraintSpec.Regex("[0-9]{3}-[a-z]+"), grammar("{\"type\":\"regex\",\"value\":\"[0-9]{3}-[a-z]+\"}"));
        assertEquals(new ConstraintSpec.JsonSchema(json(SCHEMA)),
                grammar("{\"type\":\"json_schema\",\"value\":{\"name\":\"p\",\"schema\":" + SCHEMA + "}}"));
    }

    @Test
    void malformedShapesAreRefusedNamingTheField() {
        String[][] cases = {
                {"{\"response_format\":\"json\"}", "`response_format` must be an object"},
                {"{\"response_format\":{\"schema\":{}}}", "`response_format.type` is required"},
                {"{\"response_format\":{\"type\":\"yaml\"}}", "`response_format.type` must be text, json_object or json_schema. Given: yaml"},
                {"{\"response_format\":{\"type\":\"json_object\",\"schema\":[1]}}", "`response_format.schema` must be a JSON schema object"},
                {"{\"response_format\":{\"type\":\"json_object\",\"schema\":\"{nope\"}}", "`response_format.schema` is a string that is not JSON"},
                {"{\"response_format\":{\"type\":\"json_object\",\"shema\":{}}}", "`response_format.shema` is not a known field"},
                {"{\"response_format\":{\"type\":\"text\",\"schema\":{}}}", "`response_format.schema` needs `type` json_object"},
                {"{\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{},\"strict\":\"yes\"}}}",
                        "`response_format.json_schema.strict` must be a boolean"},
                {"{\"grammar\":{\"type\":\"regex\"}}", "`grammar.value` must be a non-empty regular expression"},
                {"{\"grammar\":{\"type\":\"regex\",\"value\":7}}", "`grammar.value` must be a non-empty regular expression"},
                {"{\"grammar\":{\"type\":\"json_schema\"}}", "`grammar.value` is required for type json_schema"},
                {"{\"grammar\":{\"type\":\"json_schema\",\"value\":{\"schema\":true}}}", "`grammar.value.schema` must be a JSON schema object"},
                {"{\"grammar\":{\"type\":\"ebnf\",\"value\":\"x\"}}", "`grammar.type` must be json, regex or json_schema. Given: ebnf"},
                {"{\"grammar\":[]}", "`grammar` must be an object"},
                {"{\"response_format\":{\"type\":\"json_object\"},\"grammar\":{\"type\":\"regex\",\"value\":\"a\"}}",
                        "`response_format` and `grammar`: at most one of them may be given"},
        };
        for (String[] c : cases) {
            JsonNode body = json(c[0]);
            ValidationException e = assertThrows(ValidationException.class,
                    () -> OutputConstraints.of(body.get("response_format"), body.get("grammar")), c[0]);
            assertTrue(e.getMessage().startsWith(c[1]), c[0] + " -> " + e.getMessage());
        }
    }
}
