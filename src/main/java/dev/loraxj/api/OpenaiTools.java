package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.grammar.ConstraintSpec;
import dev.loraxj.service.OutputConstraints;
import dev.loraxj.service.ValidationException;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A chat request's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}, checked as
 * OpenAI checks them.
 *
 * @param template   the tools as sent, for the chat template's {@code tools} (null when the request has none)
 * @param constraint the calls the output is held to; null with {@code tool_choice: "none"} (the model
 *                   still sees the tools, as OpenAI and vLLM show them, but answers in text) or without tools
 */
record OpenaiTools(List<Object> template, ConstraintSpec.ToolCalls constraint) {

    static final OpenaiTools NONE = new OpenaiTools(null, null);

    /** OpenAI's rule for function names. */
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    static OpenaiTools of(JsonNode tools, JsonNode choice, Boolean parallel) {
        boolean given = tools != null && !tools.isNull();
        if (given && !tools.isArray()) {
            throw new ValidationException("`tools` must be an array of {\"type\": \"function\", \"function\": {...}}");
        }
        List<ConstraintSpec.Function> functions = given ? functions(tools) : List.of();
        Choice c = choice(choice);
        if (functions.isEmpty()) {
            if (c.kind() == Kind.REQUIRED || c.kind() == Kind.NAMED) {
                throw new ValidationException("`tool_choice` " + c.describe() + " needs `tools`");
            }
            return NONE; // none, or an empty list: nothing to call
        }
        List<Object> template = Json.MAPPER.convertValue(tools, List.class);
        return switch (c.kind()) {
            case NONE -> new OpenaiTools(template, null);
            case AUTO -> new OpenaiTools(template, calls(functions, ConstraintSpec.ToolChoice.AUTO, null, parallel));
            case REQUIRED -> new OpenaiTools(template, calls(functions, ConstraintSpec.ToolChoice.REQUIRED, null, parallel));
            case NAMED -> {
                if (functions.stream().noneMatch(f -> f.name().equals(c.name()))) {
                    throw new ValidationException("`tool_choice` names the function `" + c.name() + "`, which is not in `tools` (it has: "
                            + String.join(", ", functions.stream().map(ConstraintSpec.Function::name).toList()) + ")");
                }
                yield new OpenaiTools(template, calls(functions, ConstraintSpec.ToolChoice.NAMED, c.name(), parallel));
            }
        };
    }

    private static ConstraintSpec.ToolCalls calls(List<ConstraintSpec.Function> functions, ConstraintSpec.ToolChoice choice,
                                                  String named, Boolean parallel) {
        return new ConstraintSpec.ToolCalls(functions, choice, named, parallel == null || parallel);
    }

    private static List<ConstraintSpec.Function> functions(JsonNode tools) {
        List<ConstraintSpec.Function> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < tools.size(); i++) {
            JsonNode tool = tools.get(i);
            String at = "tools[" + i + "]";
            if (tool == null || !tool.isObject()) {
                throw new ValidationException("`" + at + "` must be an object {\"type\": \"function\", \"function\": {...}}");
            }
            if (!"function".equals(tool.path("type").asText(null))) {
                throw new ValidationException("`" + at + ".type` must be \"function\" (the only kind of tool this server calls)");
            }
            JsonNode f = tool.get("function");
            if (f == null || !f.isObject()) {
                throw new ValidationException("`" + at + ".function` must be an object {\"name\", \"description\", \"parameters\"}");
            }
            JsonNode name = f.get("name");
            if (name == null || !name.isTextual() || !NAME.matcher(name.asText()).matches()) {
                throw new ValidationException("`" + at + ".function.name` must be 1 to 64 letters, digits, '_' or '-'");
            }
            if (!names.add(name.asText())) {
                throw new ValidationException("`" + at + ".function.name`: the function `" + name.asText() + "` is listed twice");
            }
            JsonNode description = f.get("description");
            if (description != null && !description.isNull() && !description.isTextual()) {
                throw new ValidationException("`" + at + ".function.description` must be a string");
            }
            JsonNode strict = f.get("strict");
            if (strict != null && !strict.isNull() && !strict.isBoolean()) {
                throw new ValidationException("`" + at + ".function.strict` must be a boolean");
            }
            JsonNode parameters = f.get("parameters");
            if (parameters != null && !parameters.isNull() && !parameters.isObject()) {
                throw new ValidationException("`" + at + ".function.parameters` must be a JSON schema object");
            }
            out.add(new ConstraintSpec.Function(name.asText(), OutputConstraints.schema(parameters, at + ".function.parameters")));
        }
        return out;
    }

    private enum Kind { NONE, AUTO, REQUIRED, NAMED }

    private record Choice(Kind kind, String name) {
        String describe() {
            return kind == Kind.NAMED ? "naming `" + name + "`" : "\"" + kind.name().toLowerCase() + "\"";
        }
    }

    /** none, auto (the default), required, or {"type": "function", "function": {"name": ...}}. */
    private static Choice choice(JsonNode choice) {
        if (choice == null || choice.isNull()) {
            return new Choice(Kind.AUTO, null);
        }
        if (choice.isTextual()) {
            return switch (choice.asText()) {
                case "none" -> new Choice(Kind.NONE, null);
                case "auto" -> new Choice(Kind.AUTO, null);
                case "required" -> new Choice(Kind.REQUIRED, null);
                default -> throw new ValidationException("`tool_choice` must be none, auto, required or "
                        + "{\"type\": \"function\", \"function\": {\"name\": ...}}. Given: " + choice.asText());
            };
        }
        if (choice.isObject() && "function".equals(choice.path("type").asText(null)) && choice.path("function").path("name").isTextual()) {
            return new Choice(Kind.NAMED, choice.path("function").path("name").asText());
        }
        throw new ValidationException("`tool_choice` must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}");
    }

    /** Whether the reply is read for tool calls. */
    boolean calls() {
        return constraint != null;
    }

    /** For the template context: null when there are no tools, so templates' {@code if tools} is false. */
    Map<String, Object> templateVariables() {
        return template == null ? Map.of() : Map.of("tools", template);
    }
}
