package dev.loraxj.grammar;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * ECMA-262 regular expressions, the subset a grammar can hold: literals and escapes, classes,
 * {@code . \d \w \s} and their negations, groups, alternation, greedy and lazy quantifiers, and
 * {@code ^}/{@code $} at a branch's ends. Lookaround, backreferences and word boundaries are
 * refused (no finite automaton has them). Characters become bytes through {@code chars}, so the
 * same parse serves a raw regex and a JSON string's contents.
 * Hand-written: java.util.regex compiles to a backtracking matcher, not to an automaton we can step.
 */
final class RegexParser {

    private static final CodePoints DIGIT = CodePoints.range('0', '9');
    private static final CodePoints WORD = CodePoints.union(List.of(CodePoints.range('a', 'z'), CodePoints.range('A', 'Z'),
            DIGIT, CodePoints.of('_')));
    private static final CodePoints SPACE = CodePoints.union(List.of(CodePoints.range(9, 13), CodePoints.of(' '),
            CodePoints.of(0xA0), CodePoints.of(0x1680), CodePoints.range(0x2000, 0x200A), CodePoints.range(0x2028, 0x2029),
            CodePoints.of(0x202F), CodePoints.of(0x205F), CodePoints.of(0x3000), CodePoints.of(0xFEFF)));
    private static final CodePoints DOT = CodePoints.union(List.of(CodePoints.of('\n'), CodePoints.of('\r'),
            CodePoints.range(0x2028, 0x2029))).complement();

    private final String src;
    private final Function<CodePoints, Rx> chars;
    private final String what;
    private int at;

    /** The parsed branch alternatives with their anchors, for callers that give unanchored patterns search semantics. */
    record Branch(Rx body, boolean startAnchored, boolean endAnchored) {
    }

    private RegexParser(String src, Function<CodePoints, Rx> chars, String what) {
        this.src = src;
        this.chars = chars;
        this.what = what;
    }

    /** The top-level branches of {@code pattern}; {@code what} names it in errors (e.g. "`pattern` at /properties/id"). */
    static List<Branch> branches(String pattern, Function<CodePoints, Rx> chars, String what) {
        RegexParser p = new RegexParser(pattern, chars, what);
        List<Branch> out = new ArrayList<>();
        do {
            boolean start = p.eat('^');
            List<Rx> items = new ArrayList<>();
            boolean end = false;
            while (p.at < p.src.length() && p.peek() != '|') {
                if (p.peek() == '$') {
                    p.at++;
                    end = true;
                    if (p.at < p.src.length() && p.peek() != '|') {
                        throw p.error("`$` is supported only at the end of a branch");
                    }
                    break;
                }
                items.add(p.quantified());
            }
            out.add(new Branch(new Rx.Seq(items), start, end));
        } while (p.eat('|'));
        if (p.at != p.src.length()) {
            throw p.error("unbalanced `)`");
        }
        return out;
    }

    /** Matches the whole output, as TGI's regex grammar does (anchors at the ends are allowed and change nothing). */
    static Rx whole(String pattern, Function<CodePoints, Rx> chars, String what) {
        List<Rx> options = new ArrayList<>();
        for (Branch b : branches(pattern, chars, what)) {
            options.add(b.body());
        }
        return Rx.alt(options);
    }

    /** JSON Schema's {@code pattern}: matches anywhere unless anchored, so an unanchored end may be any text. */
    static Rx search(String pattern, Function<CodePoints, Rx> chars, String what) {
        Rx any = Rx.star(chars.apply(CodePoints.ALL));
        List<Rx> options = new ArrayList<>();
        for (Branch b : branches(pattern, chars, what)) {
            options.add(Rx.seq(b.startAnchored() ? Rx.EMPTY : any, b.body(), b.endAnchored() ? Rx.EMPTY : any));
        }
        return Rx.alt(options);
    }

    private Rx alternation() {
        List<Rx> options = new ArrayList<>();
        do {
            List<Rx> items = new ArrayList<>();
            while (at < src.length() && peek() != '|' && peek() != ')') {
                if (peek() == '^' || peek() == '$') {
                    throw error("anchors are supported only at the start and end of the whole pattern");
                }
                items.add(quantified());
            }
            options.add(new Rx.Seq(items));
        } while (eat('|'));
        return Rx.alt(options);
    }

    private Rx quantified() {
        Rx atom = atom();
        while (at < src.length()) {
            int min;
            int max;
            char c = peek();
            if (c == '*') {
                min = 0;
                max = -1;
                at++;
            } else if (c == '+') {
                min = 1;
                max = -1;
                at++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                at++;
            } else if (c == '{' && braces()) {
                at++;
                min = number();
                max = min;
                if (eat(',')) {
                    max = peek() == '}' ? -1 : number();
                }
                expect('}');
                if (max != -1 && max < min) {
                    throw error("quantifier {" + min + "," + max + "} has max below min");
                }
            } else {
                return atom;
            }
            eat('?'); // lazy: the same language
            if (peek0() == '+') {
                throw error("possessive quantifiers are not ECMA-262");
            }
            atom = new Rx.Repeat(atom, min, max);
        }
        return atom;
    }

    /** Whether a `{` starts a quantifier ({n}, {n,}, {n,m}); otherwise ECMA reads it as a literal in Annex B. */
    private boolean braces() {
        int i = at + 1;
        int digits = 0;
        while (i < src.length() && Character.isDigit(src.charAt(i))) {
            i++;
            digits++;
        }
        if (digits == 0) {
            return false;
        }
        if (i < src.length() && src.charAt(i) == ',') {
            i++;
            while (i < src.length() && Character.isDigit(src.charAt(i))) {
                i++;
            }
        }
        return i < src.length() && src.charAt(i) == '}';
    }

    private int number() {
        int start = at;
        while (at < src.length() && Character.isDigit(peek())) {
            at++;
        }
        try {
            int n = Integer.parseInt(src.substring(start, at));
            if (n > 10_000) {
                throw error("repetition count " + n + " is too large (at most 10000)");
            }
            return n;
        } catch (NumberFormatException e) {
            throw error("repetition count is too large");
        }
    }

    private Rx atom() {
        int c = src.codePointAt(at);
        switch (c) {
            case '(' -> {
                at++;
                if (eat('?')) {
                    if (eat(':')) {
                        // non-capturing
                    } else if (peek0() == '<' && at + 1 < src.length() && src.charAt(at + 1) != '=' && src.charAt(at + 1) != '!') {
                        int close = src.indexOf('>', at);
                        if (close < 0) {
                            throw error("unterminated group name");
                        }
                        at = close + 1;
                    } else {
                        throw error("lookaround `(?" + (at < src.length() ? src.charAt(at) : "") + "` is not supported");
                    }
                }
                Rx inner = alternation();
                expect(')');
                return inner;
            }
            case '[' -> {
                at++;
                return chars.apply(charClass());
            }
            case '.' -> {
                at++;
                return chars.apply(DOT);
            }
            case '\\' -> {
                at++;
                return chars.apply(escape(false));
            }
            case '*', '+', '?' -> throw error("nothing to repeat before `" + (char) c + "`");
            case ')' -> throw error("unbalanced `)`");
            default -> {
                at += Character.charCount(c);
                return chars.apply(CodePoints.of(c));
            }
        }
    }

    private CodePoints charClass() {
        boolean negate = eat('^');
        List<CodePoints> parts = new ArrayList<>();
        boolean first = true;
        while (true) {
            if (at >= src.length()) {
                throw error("unterminated character class");
            }
            if (peek() == ']' && !first) {
                at++;
                break;
            }
            if (peek() == ']') { // `[]` matches nothing in ECMA; `[^]` anything
                at++;
                return negate ? CodePoints.ALL : CodePoints.ALL.complement();
            }
            first = false;
            CodePoints lo = classAtom();
            if (peek0() == '-' && at + 1 < src.length() && src.charAt(at + 1) != ']') {
                at++;
                CodePoints hi = classAtom();
                if (lo.rangeCount() != 1 || lo.lo(0) != lo.hi(0) || hi.rangeCount() != 1 || hi.lo(0) != hi.hi(0)) {
                    throw error("a class range needs single characters at both ends");
                }
                if (hi.lo(0) < lo.lo(0)) {
                    throw error("class range out of order");
                }
                parts.add(CodePoints.range(lo.lo(0), hi.lo(0)));
            } else {
                parts.add(lo);
            }
        }
        CodePoints set = CodePoints.union(parts);
        return negate ? set.complement() : set;
    }

    private CodePoints classAtom() {
        int c = src.codePointAt(at);
        if (c == '\\') {
            at++;
            return escape(true);
        }
        at += Character.charCount(c);
        return CodePoints.of(c);
    }

    private CodePoints escape(boolean inClass) {
        if (at >= src.length()) {
            throw error("a pattern cannot end with `\\`");
        }
        char c = src.charAt(at++);
        return switch (c) {
            case 'd' -> DIGIT;
            case 'D' -> DIGIT.complement();
            case 'w' -> WORD;
            case 'W' -> WORD.complement();
            case 's' -> SPACE;
            case 'S' -> SPACE.complement();
            case 'n' -> CodePoints.of('\n');
            case 'r' -> CodePoints.of('\r');
            case 't' -> CodePoints.of('\t');
            case 'f' -> CodePoints.of('\f');
            case 'v' -> CodePoints.of(0x0B);
            case '0' -> CodePoints.of(0);
            case 'x' -> CodePoints.of(hex(2));
            case 'u' -> {
                if (peek0() == '{') {
                    int close = src.indexOf('}', at);
                    if (close < 0) {
                        throw error("unterminated \\u{...}");
                    }
                    String h = src.substring(at + 1, close);
                    at = close + 1;
                    try {
                        yield CodePoints.of(Integer.parseInt(h, 16));
                    } catch (NumberFormatException e) {
                        throw error("bad \\u{" + h + "}");
                    }
                }
                yield CodePoints.of(hex(4));
            }
            case 'b' -> {
                if (inClass) {
                    yield CodePoints.of('\b');
                }
                throw error("word boundaries (`\\b`) are not supported");
            }
            case 'B' -> throw error("word boundaries (`\\B`) are not supported");
            case 'p', 'P' -> throw error("Unicode property escapes (`\\" + c + "`) are not supported");
            case 'k' -> throw error("backreferences are not supported");
            default -> {
                if (c >= '1' && c <= '9') {
                    throw error("backreferences are not supported");
                }
                if (Character.isLetterOrDigit(c)) {
                    throw error("unknown escape `\\" + c + "`");
                }
                yield CodePoints.of(c);
            }
        };
    }

    private int hex(int n) {
        if (at + n > src.length()) {
            throw error("escape needs " + n + " hex digits");
        }
        try {
            int v = Integer.parseInt(src.substring(at, at + n), 16);
            at += n;
            return v;
        } catch (NumberFormatException e) {
            throw error("escape needs " + n + " hex digits");
        }
    }

    private char peek() {
        return src.charAt(at);
    }

    private char peek0() {
        return at < src.length() ? src.charAt(at) : 0;
    }

    private boolean eat(char c) {
        if (at < src.length() && src.charAt(at) == c) {
            at++;
            return true;
        }
        return false;
    }

    private void expect(char c) {
        if (!eat(c)) {
            throw error("expected `" + c + "`");
        }
    }

    private GrammarException error(String message) {
        return new GrammarException(what + ": " + message + " (at offset " + at + " of " + Quote.of(src) + ")");
    }

    /** Quoting for messages, cut short for long patterns. */
    private static final class Quote {
        static String of(String s) {
            return "\"" + (s.length() > 200 ? s.substring(0, 200) + "..." : s).replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        }
    }
}
