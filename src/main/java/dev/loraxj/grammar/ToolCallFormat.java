package dev.loraxj.grammar;

/**
 * How a tool call reads in the generated text: Hermes' tags (which Qwen 2.5, Hermes and many
 * fine-tunes are trained on), each around one JSON object {@code {"name": ..., "arguments": {...}}};
 * parallel calls are consecutive blocks separated by a newline. The grammar enforces it and the
 * OpenAI route parses it back into {@code tool_calls}.
 */
public final class ToolCallFormat {

    public static final String OPEN = "<tool_call>";
    public static final String CLOSE = "</tool_call>";

    private ToolCallFormat() {
    }
}
