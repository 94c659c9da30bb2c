package dev.loraxj.grammar;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Objects;

/**
 * What a request asks its output to be, as sent and not yet compiled: a JSON schema (or any JSON
 * object), a regular expression, or tool calls. Values: equal specs compile once and share one
 * {@link Grammar}.
 */
public sealed interface ConstraintSpec {

    /** A JSON document valid against {@code schema}; a null schema means any JSON object (OpenAI's and LoRAX's json_object). */
    record JsonSchema(JsonNode schema) implements ConstraintSpec {
    }

    /** Output matched whole by {@code pattern} (ECMA-262 syntax, the subset {@link Regex} documents). */
    record Regex(String pattern) implements ConstraintSpec {
        public Regex {
            Objects.requireNonNull(pattern, "pattern");
        }
    }

    /**
     * OpenAI tools. The output is in {@link ToolCallFormat}: with {@link ToolChoice#AUTO} free text
     * or calls, with {@link ToolChoice#REQUIRED} at least one call, with a named choice exactly
     * calls of that function; {@code parallel}: more than one call may follow.
     */
    record ToolCalls(List<Function> functions, ToolChoice choice, String named, boolean parallel) implements ConstraintSpec {
        public ToolCalls {
            functions = List.copyOf(functions);
            Objects.requireNonNull(choice, "choice");
            if ((choice == ToolChoice.NAMED) != (named != null)) {
                throw new IllegalArgumentException("a named tool choice needs a name, and only it has one");
            }
        }
    }

    /** One callable function: its name and the JSON schema of its arguments (null: any JSON object). */
    record Function(String name, JsonNode parameters) {
        public Function {
            Objects.requireNonNull(name, "name");
        }
    }

    enum ToolChoice { AUTO, REQUIRED, NAMED }
}
