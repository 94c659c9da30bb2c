package dev.loraxj.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.grammar.ToolCallFormat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads generated text in {@link ToolCallFormat} back into content and tool calls, piece by piece
 * as a stream arrives; a whole reply is the same pieces joined ({@link #parse}), so a stream and a
 * whole response always agree. Text that may still become a tag is held back until decided; the
 * whitespace just before a tag is not content. A call whose JSON opens with {@code "name"} then
 * {@code "arguments": {} (what the grammar writes) streams its arguments' text as it comes; any other
 * block is read whole at its closing tag, and one that is not a call is returned as content. One
 * per choice; not thread-safe.
 */
final class ToolCallText {

    /** What the text held: content, a call's start (its name), or a piece of that call's arguments' JSON text. */
    sealed interface Piece {
    }

    record Content(String text) implements Piece {
    }

    record CallStart(int index, String name) implements Piece {
    }

    record Arguments(int index, String text) implements Piece {
    }

    /** A whole reply: content before the calls (null when empty) and the calls in order. */
    record Reply(String content, List<Call> calls) {
    }

    record Call(String name, String arguments) {
    }

    private static final String OPEN = ToolCallFormat.OPEN;
    private static final String CLOSE = ToolCallFormat.CLOSE;
    /** The head of a call as the grammar writes it, up to the arguments object's opening brace. */
    private static final Pattern HEAD = Pattern.compile("\\s*\\{\\s*\"name\"\\s*:\\s*(\"(?:[^\"\\\\]|\\\\.)*\")\\s*,\\s*\"arguments\"\\s*:\\s*(?=\\{)");

    private enum Mode { TEXT, HEAD, ARGS, TAIL }

    private final StringBuilder pending = new StringBuilder();
    private Mode mode = Mode.TEXT;
    private int index = -1;
    private int depth;
    private boolean inString;
    private boolean escaped;

    /** Adds generated text; returns the pieces now decided. */
    List<Piece> push(String text) {
        pending.append(text);
        List<Piece> out = new ArrayList<>();
        boolean progress = true;
        while (progress) {
            progress = switch (mode) {
                case TEXT -> text(out);
                case HEAD -> head(out);
                case ARGS -> arguments(out);
                case TAIL -> tail();
            };
        }
        return out;
    }

    /** The end of the text: what was held back is decided as it stands. */
    List<Piece> finish() {
        List<Piece> out = new ArrayList<>();
        String rest = pending.toString();
        pending.setLength(0);
        switch (mode) {
            case TEXT -> {
                if (index < 0 || !rest.isBlank()) {
                    content(out, rest);
                }
            }
            case HEAD -> content(out, OPEN + rest); // cut before the call's name was known: nothing is lost
            case ARGS -> {
                if (!rest.isEmpty()) {
                    out.add(new Arguments(index, rest)); // cut short (length): the arguments as far as they came
                }
            }
            case TAIL -> { }
        }
        mode = Mode.TEXT;
        return out;
    }

    /** How many calls have started. */
    int calls() {
        return index + 1;
    }

    /** A whole generated text as content and calls. */
    static Reply parse(String text) {
        ToolCallText t = new ToolCallText();
        List<Piece> pieces = new ArrayList<>(t.push(text));
        pieces.addAll(t.finish());
        StringBuilder content = new StringBuilder();
        List<String> names = new ArrayList<>();
        List<StringBuilder> arguments = new ArrayList<>();
        for (Piece p : pieces) {
            switch (p) {
                case Content c -> content.append(c.text());
                case CallStart s -> {
                    names.add(s.name());
                    arguments.add(new StringBuilder());
                }
                case Arguments a -> arguments.get(a.index()).append(a.text());
            }
        }
        List<Call> calls = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            calls.add(new Call(names.get(i), arguments.get(i).toString()));
        }
        return new Reply(content.isEmpty() ? null : content.toString(), calls);
    }

    private boolean text(List<Piece> out) {
        int at = pending.indexOf(OPEN);
        if (at >= 0) {
            content(out, stripTrailing(pending.substring(0, at)));
            pending.delete(0, at + OPEN.length());
            mode = Mode.HEAD;
            return true;
        }
        int keep = heldBack();
        content(out, pending.substring(0, pending.length() - keep));
        pending.delete(0, pending.length() - keep);
        return false;
    }

    private boolean head(List<Piece> out) {
        Matcher m = HEAD.matcher(pending);
        if (m.lookingAt()) {
            String name;
            try {
                name = Json.MAPPER.readTree(m.group(1)).asText();
            } catch (JsonProcessingException e) {
                name = null; // an escape JSON does not allow: read the block whole instead
            }
            if (name != null && !name.isEmpty()) {
                out.add(new CallStart(++index, name));
                pending.delete(0, m.end());
                mode = Mode.ARGS;
                depth = 0;
                inString = false;
                escaped = false;
                return true;
            }
        }
        int close = pending.indexOf(CLOSE);
        if (close < 0) {
            return false; // not decided yet
        }
        String block = pending.substring(0, close);
        pending.delete(0, close + CLOSE.length());
        mode = Mode.TEXT;
        Call call = call(block);
        if (call == null) {
            content(out, OPEN + block + CLOSE);
        } else {
            out.add(new CallStart(++index, call.name()));
            out.add(new Arguments(index, call.arguments()));
        }
        return true;
    }

    /** Sends the arguments' text up to the brace that closes them; a '<' outside a string ends malformed arguments. */
    private boolean arguments(List<Piece> out) {
        int end = -1;
        for (int i = 0; i < pending.length() && end < 0; i++) {
            char c = pending.charAt(i);
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (c == '\\') {
                    escaped = true;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) {
                    end = i + 1;
                }
            } else if (c == '<') {
                end = i;
            }
        }
        int upTo = end < 0 ? pending.length() : end;
        if (upTo > 0) {
            out.add(new Arguments(index, pending.substring(0, upTo)));
            pending.delete(0, upTo);
        }
        if (end < 0) {
            return false;
        }
        mode = Mode.TAIL;
        return true;
    }

    /** After the arguments: the call object's closing brace, then the closing tag. */
    private boolean tail() {
        int close = pending.indexOf(CLOSE);
        if (close < 0) {
            int keep = 0;
            for (int k = Math.min(CLOSE.length() - 1, pending.length()); k > 0; k--) {
                if (endsWithPrefix(CLOSE, k)) {
                    keep = k;
                    break;
                }
            }
            pending.delete(0, pending.length() - keep);
            return false;
        }
        pending.delete(0, close + CLOSE.length());
        mode = Mode.TEXT;
        return true;
    }

    /** A block read whole: {"name": "...", "arguments": {...} or a JSON string}, else null. */
    private static Call call(String block) {
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(block);
        } catch (JsonProcessingException e) {
            return null;
        }
        if (node == null || !node.isObject() || !node.path("name").isTextual() || node.path("name").asText().isEmpty()) {
            return null;
        }
        JsonNode args = node.get("arguments");
        if (args == null || args.isNull()) {
            args = node.get("parameters"); // some fine-tunes write Hermes' older key
        }
        String text = args == null || args.isNull() ? "{}" : args.isTextual() ? args.asText() : args.toString();
        return new Call(node.path("name").asText(), text);
    }

    /** The tail to hold: whitespace, then a proper prefix of the opening tag (either may be empty). */
    private int heldBack() {
        int n = pending.length();
        int prefix = 0;
        for (int k = Math.min(OPEN.length() - 1, n); k > 0; k--) {
            if (endsWithPrefix(OPEN, k)) {
                prefix = k;
                break;
            }
        }
        int at = n - prefix;
        while (at > 0 && Character.isWhitespace(pending.charAt(at - 1))) {
            at--;
        }
        return n - at;
    }

    private boolean endsWithPrefix(String tag, int k) {
        int from = pending.length() - k;
        for (int i = 0; i < k; i++) {
            if (pending.charAt(from + i) != tag.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static String stripTrailing(String s) {
        int end = s.length();
        while (end > 0 && Character.isWhitespace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    private static void content(List<Piece> out, String text) {
        if (!text.isEmpty()) {
            out.add(new Content(text));
        }
    }
}
