package dev.loraxj.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.util.Set;

/** networknt's JSON Schema validator (draft 2020-12, formats asserted): the independent judge of constrained output in tests. */
public final class SchemaJudge {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static final SchemaValidatorsConfig CONFIG = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();

    private SchemaJudge() {
    }

    /** Throws AssertionError unless {@code output} parses as one JSON value that {@code schema} accepts. */
    public static JsonNode assertValid(JsonNode schema, String output, String context) {
        JsonNode value;
        try {
            value = JSON.readTree(output);
        } catch (Exception e) {
            throw new AssertionError(context + ": output does not parse: " + output + "\nschema " + schema, e);
        }
        if (value == null || value.isMissingNode()) {
            throw new AssertionError(context + ": empty output; schema " + schema);
        }
        if (schema != null) {
            Set<ValidationMessage> errors = FACTORY.getSchema(schema, CONFIG).validate(value);
            if (!errors.isEmpty()) {
                throw new AssertionError(context + ": " + errors + "\noutput " + output + "\nschema " + schema);
            }
        } else if (!value.isObject()) {
            throw new AssertionError(context + ": not a JSON object: " + output);
        }
        return value;
    }
}
