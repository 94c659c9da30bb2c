package dev.loraxj.model;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Python's str methods and indexing for chat templates ({@code content.startswith('x')},
 * {@code 'abc'[0]}, {@code text.split()}): Jinjava resolves methods on Java's String, whose names
 * and semantics differ. Consulted before Jinjava's own resolver; anything else falls through.
 */
final class ChatTemplateStrings extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || !(method instanceof String name)) {
            return null;
        }
        Object[] p = params == null ? new Object[0] : params;
        Object result = call(s, name, p);
        if (result == NONE) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        Integer index = base instanceof String ? index(property) : null;
        if (index != null) {
            String s = (String) base;
            int i = index;
            int at = i < 0 ? s.length() + i : i;
            if (at < 0 || at >= s.length()) {
                throw new ChatTemplateException("string index out of range: " + i);
            }
            context.setPropertyResolved(true);
            return String.valueOf(s.charAt(at));
        }
        return null;
    }

    /** Jinjava hands a bracket's integer to resolvers as a string ("0"), so both forms are indexes. */
    private static Integer index(Object property) {
        if (property instanceof Number n && integral(n)) {
            return n.intValue();
        }
        if (property instanceof String p && p.matches("-?\\d{1,9}")) {
            return Integer.valueOf(p);
        }
        return null;
    }

    private static final Object NONE = new Object();

    /** One str method; NONE when the name is not one of Python's we provide. */
    static Object call(String s, String name, Object[] p) {
        return switch (name) {
            case "strip" -> strip(s, arg(p, 0), true, true);
            case "lstrip" -> strip(s, arg(p, 0), true, false);
            case "rstrip" -> strip(s, arg(p, 0), false, true);
            case "startswith" -> affix(s, p, true);
            case "endswith" -> affix(s, p, false);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "split" -> split(s, arg(p, 0), p.length > 1 ? toInt(p[1]) : -1);
            case "splitlines" -> s.isEmpty() ? List.of() : List.of(s.split("\r\n|\r|\n", -1)).subList(0, lineCount(s));
            case "replace" -> replace(s, str(p[0]), str(p[1]), p.length > 2 ? toInt(p[2]) : -1);
            case "find" -> s.indexOf(str(p[0]));
            case "rfind" -> s.lastIndexOf(str(p[0]));
            case "count" -> count(s, str(p[0]));
            case "join" -> join(s, p[0]);
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(ChatTemplateStrings::space);
            case "isupper" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toUpperCase(Locale.ROOT));
            case "islower" -> s.chars().anyMatch(Character::isLetter) && s.equals(s.toLowerCase(Locale.ROOT));
            default -> NONE;
        };
    }

    /** Python's str.isspace for one char (Java's isWhitespace misses U+00A0 and friends). */
    static boolean space(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
    }

    private static String strip(String s, String chars, boolean left, boolean right) {
        int from = 0;
        int to = s.length();
        while (left && from < to && (chars == null ? space(s.charAt(from)) : chars.indexOf(s.charAt(from)) >= 0)) {
            from++;
        }
        while (right && to > from && (chars == null ? space(s.charAt(to - 1)) : chars.indexOf(s.charAt(to - 1)) >= 0)) {
            to--;
        }
        return s.substring(from, to);
    }

    /** startswith/endswith with a string or a tuple of strings, as Python takes. */
    private static boolean affix(String s, Object[] p, boolean prefix) {
        if (p.length == 0) {
            throw new ChatTemplateException((prefix ? "startswith" : "endswith") + "() takes at least 1 argument");
        }
        if (p[0] instanceof Collection<?> options) {
            for (Object o : options) {
                if (prefix ? s.startsWith(str(o)) : s.endsWith(str(o))) {
                    return true;
                }
            }
            return false;
        }
        return prefix ? s.startsWith(str(p[0])) : s.endsWith(str(p[0]));
    }

    /** str.title: the first letter of each run of letters upper case, the rest lower. */
    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean inWord = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(inWord ? Character.toLowerCase(c) : Character.toUpperCase(c));
            inWord = Character.isLetter(c);
        }
        return sb.toString();
    }

    /** str.split: on runs of whitespace without a separator, else on the literal separator. */
    static List<String> split(String s, String sep, int maxSplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && space(s.charAt(i))) {
                    i++;
                }
                if (i == n) {
                    return out;
                }
                if (maxSplit >= 0 && out.size() == maxSplit) {
                    out.add(strip(s.substring(i), null, false, true));
                    return out;
                }
                int j = i;
                while (j < n && !space(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                i = j;
            }
        }
        if (sep.isEmpty()) {
            throw new ChatTemplateException("split(): empty separator");
        }
        int from = 0;
        int at;
        while ((maxSplit < 0 || out.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0) {
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static int lineCount(String s) {
        String[] lines = s.split("\r\n|\r|\n", -1);
        return lines[lines.length - 1].isEmpty() ? lines.length - 1 : lines.length;
    }

    private static String replace(String s, String old, String with, int count) {
        if (count < 0) {
            return s.replace(old, with);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (int n = 0; n < count; n++) {
            int at = s.indexOf(old, from);
            if (at < 0 || old.isEmpty()) {
                break;
            }
            sb.append(s, from, at).append(with);
            from = at + old.length();
        }
        return sb.append(s.substring(from)).toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    private static String join(String sep, Object items) {
        if (!(items instanceof Iterable<?> it)) {
            throw new ChatTemplateException("join() takes an iterable");
        }
        List<String> parts = new ArrayList<>();
        it.forEach(o -> parts.add(str(o)));
        return String.join(sep, parts);
    }

    private static String arg(Object[] p, int i) {
        return p.length > i && p[i] != null ? str(p[i]) : null;
    }

    private static String str(Object o) {
        return o == null ? "None" : o.toString();
    }

    static boolean integral(Number n) {
        return n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte
                || n instanceof java.math.BigInteger;
    }

    private static int toInt(Object o) {
        if (o instanceof Number n && integral(n)) {
            return n.intValue();
        }
        throw new ChatTemplateException("expected an integer, got " + o);
    }

    // Read-only resolver: the rest of ELResolver's contract says "not mine".

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // strings are immutable; other resolvers handle everything else
    }
}
