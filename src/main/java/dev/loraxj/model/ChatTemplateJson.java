package dev.loraxj.model;

import java.util.Collection;
import java.util.Map;

/**
 * The {@code tojson} filter as transformers defines it for chat templates: Python's
 * {@code json.dumps(x, ensure_ascii=False, indent=indent)}, so ", " and ": " separate items and
 * keys, and non-ASCII text stays as is. Tool-calling templates print tool schemas this way.
 */
final class ChatTemplateJson {

    private ChatTemplateJson() {
    }

    static String dumps(Object value, Integer indent) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, indent, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, Integer indent, int depth) {
        switch (v) {
            case null -> sb.append("null");
            case String s -> string(sb, s);
            case Boolean b -> sb.append(b ? "true" : "false");
            case Double d -> sb.append(number(d));
            case Float f -> sb.append(number(f.doubleValue()));
            case Number n -> sb.append(n);
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    separator(sb, first, indent, depth + 1);
                    first = false;
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(": ");
                    write(sb, e.getValue(), indent, depth + 1);
                }
                close(sb, indent, depth);
                sb.append('}');
            }
            case Collection<?> c -> {
                if (c.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                boolean first = true;
                for (Object o : c) {
                    separator(sb, first, indent, depth + 1);
                    first = false;
                    write(sb, o, indent, depth + 1);
                }
                close(sb, indent, depth);
                sb.append(']');
            }
            case Object[] a -> write(sb, java.util.Arrays.asList(a), indent, depth);
            default -> string(sb, v.toString());
        }
    }

    private static void separator(StringBuilder sb, boolean first, Integer indent, int depth) {
        if (indent == null) {
            if (!first) {
                sb.append(", ");
            }
            return;
        }
        if (!first) {
            sb.append(',');
        }
        sb.append('\n').append(" ".repeat(indent * depth));
    }

    private static void close(StringBuilder sb, Integer indent, int depth) {
        if (indent != null) {
            sb.append('\n').append(" ".repeat(indent * depth));
        }
    }

    /** Python's float repr: 1.0, 0.5, 1e+20. */
    private static String number(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e16) {
            return String.format(java.util.Locale.ROOT, "%.1f", d);
        }
        String s = Double.toString(d);
        int e = s.indexOf('E');
        if (e < 0) {
            return s;
        }
        String mantissa = s.substring(0, e).replaceAll("\\.0$", "");
        String exp = s.substring(e + 1);
        return mantissa + "e" + (exp.startsWith("-") ? "-" + pad(exp.substring(1)) : "+" + pad(exp));
    }

    private static String pad(String exp) {
        return exp.length() < 2 ? "0" + exp : exp;
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
