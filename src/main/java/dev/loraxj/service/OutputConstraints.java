package dev.loraxj.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.grammar.ConstraintSpec;

import java.util.Iterator;
import java.util.Set;

/**
 * LoRAX's {@code parameters.response_format} and TGI's {@code parameters.grammar}, read into the
 * {@link ConstraintSpec} the engine decodes under. Only the shape is checked here (the grammar
 * engine refuses what it cannot compile); messages name the field as sent.
 *
 * <ul>
 *   <li>response_format (LoRAX): {@code {"type": "json_object", "schema": S}}, the schema optional (any
 *       JSON object); {@code "json_schema"} is LoRAX's alias, which also takes OpenAI's nesting
 *       {@code {"json_schema": {"name", "schema", "strict"}}}; {@code "text"} is no constraint.</li>
 *   <li>grammar (TGI): {@code {"type": "json" | "json_object", "value": S}} (S an object or a JSON
 *       string holding one; null: any JSON object), {@code {"type": "regex", "value": "..."}},
 *       {@code {"type": "json_schema", "value": {"name", "schema", "strict"}}}.</li>
 * </ul>
 */
public final class OutputConstraints {

    private static final ObjectMapper JSON = new ObjectMapper();

    private OutputConstraints() {
    }

    /** The constraint the two fields ask for, or null for free text; at most one of them may ask for one. */
    public static ConstraintSpec of(JsonNode responseFormat, JsonNode grammar) {
        ConstraintSpec format = responseFormat(responseFormat);
        ConstraintSpec tgi = grammar(grammar);
        if (format != null && tgi != null) {
            throw new ValidationException("`response_format` and `grammar`: at most one of them may be given");
        }
        return format != null ? format : tgi;
    }

    static ConstraintSpec responseFormat(JsonNode f) {
        if (f == null || f.isNull()) {
            return null;
        }
        if (!f.isObject()) {
            throw new ValidationException("`response_format` must be an object such as {\"type\": \"json_object\", \"schema\": {...}}");
        }
        known(f, "response_format", Set.of("type", "schema", "json_schema"));
        String type = type(f, "response_format", "text, json_object or json_schema");
        return switch (type) {
            case "text" -> {
                if (present(f, "schema") || present(f, "json_schema")) {
                    throw new ValidationException("`response_format.schema` needs `type` json_object or json_schema, not text");
                }
                yield null;
            }
            case "json_object", "json_schema" -> {
                if (present(f, "schema") && present(f, "json_schema")) {
                    throw new ValidationException("`response_format`: give the schema in `schema` or in `json_schema.schema`, not both");
                }
                JsonNode schema = present(f, "json_schema") ? openaiSchema(f.get("json_schema"), "response_format.json_schema")
                        : schema(f.get("schema"), "response_format.schema");
                yield new ConstraintSpec.JsonSchema(schema);
            }
            default -> throw new ValidationException("`response_format.type` must be text, json_object or json_schema. Given: " + type);
        };
    }

    static ConstraintSpec grammar(JsonNode g) {
        if (g == null || g.isNull()) {
            return null;
        }
        if (!g.isObject()) {
            throw new ValidationException("`grammar` must be an object such as {\"type\": \"json\", \"value\": {...}}");
        }
        known(g, "grammar", Set.of("type", "value"));
        String type = type(g, "grammar", "json, regex or json_schema");
        JsonNode value = g.get("value");
        return switch (type) {
            case "json", "json_object" -> new ConstraintSpec.JsonSchema(schema(value, "grammar.value"));
            case "regex" -> {
                if (value == null || !value.isTextual() || value.asText().isEmpty()) {
                    throw new ValidationException("`grammar.value` must be a non-empty regular expression (a string) for type regex");
                }
                yield new ConstraintSpec.Regex(value.asText());
            }
            case "json_schema" -> {
                if (!present(g, "value")) {
                    throw new ValidationException("`grammar.value` is required for type json_schema: {\"name\": ..., \"schema\": {...}}");
                }
                yield new ConstraintSpec.JsonSchema(openaiSchema(value, "grammar.value"));
            }
            default -> throw new ValidationException("`grammar.type` must be json, regex or json_schema. Given: " + type);
        };
    }

    /** OpenAI's and TGI's {@code {"name", "description", "schema", "strict"}}: the schema (null: any JSON object). */
    public static JsonNode openaiSchema(JsonNode config, String field) {
        if (config == null || !config.isObject()) {
            throw new ValidationException("`" + field + "` must be an object {\"name\": ..., \"schema\": {...}, \"strict\": ...}");
        }
        known(config, field, Set.of("name", "description", "schema", "strict"));
        JsonNode name = config.get("name");
        if (name != null && !name.isNull() && !name.isTextual()) {
            throw new ValidationException("`" + field + ".name` must be a string");
        }
        JsonNode strict = config.get("strict");
        if (strict != null && !strict.isNull() && !strict.isBoolean()) {
            throw new ValidationException("`" + field + ".strict` must be a boolean");
        }
        return schema(config.get("schema"), field + ".schema");
    }

    /** A JSON schema: an object, or a JSON string holding one (as TGI's clients send it); absent or null: any JSON object. */
    public static JsonNode schema(JsonNode schema, String field) {
        if (schema == null || schema.isNull()) {
            return null;
        }
        JsonNode s = schema;
        if (s.isTextual()) {
            try {
                s = JSON.readTree(s.asText());
            } catch (JsonProcessingException e) {
                throw new ValidationException("`" + field + "` is a string that is not JSON: " + e.getOriginalMessage());
            }
        }
        if (s == null || !s.isObject()) {
            throw new ValidationException("`" + field + "` must be a JSON schema object");
        }
        return s;
    }

    private static String type(JsonNode node, String field, String allowed) {
        JsonNode type = node.get("type");
        if (type == null || !type.isTextual()) {
            throw new ValidationException("`" + field + ".type` is required: " + allowed);
        }
        return type.asText();
    }

    private static boolean present(JsonNode node, String name) {
        JsonNode v = node.get(name);
        return v != null && !v.isNull();
    }

    private static void known(JsonNode node, String field, Set<String> names) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!names.contains(name)) {
                throw new ValidationException("`" + field + "." + name + "` is not a known field (known: "
                        + String.join(", ", names.stream().sorted().toList()) + ")");
            }
        }
    }
}
