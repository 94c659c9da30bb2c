package dev.loraxj.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * JSON's lexical pieces as grammar bodies: whitespace, string characters (a code point set written
 * as JSON writes it: plain where it may be, escaped where it must be), string formats, numbers.
 */
final class JsonText {

    /** Compact or pretty-printed up to ten levels of two spaces: bounded, so a model cannot pad forever. */
    static final Rx WS = Rx.optional(Rx.alt(Rx.literal(" "), Rx.seq(Rx.literal("\n"), new Rx.Repeat(
            Rx.alt(Rx.literal(" "), Rx.literal("\t")), 0, 20))));

    private static final CodePoints PLAIN = CodePoints.range(0x20, CodePoints.MAX)
            .minus(CodePoints.union(List.of(CodePoints.of('"'), CodePoints.of('\\'))));

    /** Any one character of a JSON string. */
    static final Rx CHAR = chars(CodePoints.ALL);

    static final Rx DIGIT = new Rx.Bytes('0', '9');
    static final Rx NONZERO = new Rx.Bytes('1', '9');
    static final Rx HEX = Rx.alt(DIGIT, new Rx.Bytes('a', 'f'), new Rx.Bytes('A', 'F'));

    /** Integers up to 18 digits (every one a long holds). */
    static final Rx INTEGER = Rx.seq(Rx.optional(Rx.literal("-")), Rx.alt(Rx.literal("0"),
            Rx.seq(NONZERO, new Rx.Repeat(DIGIT, 0, 17))));
    static final Rx FRACTION = Rx.seq(Rx.literal("."), new Rx.Repeat(DIGIT, 1, 16));
    static final Rx NUMBER = Rx.seq(INTEGER, Rx.optional(FRACTION),
            Rx.optional(Rx.seq(Rx.alt(Rx.literal("e"), Rx.literal("E")), Rx.optional(Rx.alt(Rx.literal("+"), Rx.literal("-"))),
                    new Rx.Repeat(DIGIT, 1, 3))));

    private JsonText() {
    }

    /** The characters of {@code set} as they appear inside a JSON string. */
    static Rx chars(CodePoints set) {
        List<Rx> options = new ArrayList<>();
        CodePoints plain = set.intersect(PLAIN);
        if (!plain.isEmpty()) {
            options.add(plain.utf8());
        }
        if (set.contains('"')) {
            options.add(Rx.literal("\\\""));
        }
        if (set.contains('\\')) {
            options.add(Rx.literal("\\\\"));
        }
        for (int c = 0; c < 0x20; c++) {
            if (set.contains(c)) {
                options.add(Rx.literal(switch (c) {
                    case '\n' -> "\\n";
                    case '\t' -> "\\t";
                    case '\r' -> "\\r";
                    case '\b' -> "\\b";
                    case '\f' -> "\\f";
                    default -> String.format("\\u%04x", c);
                }));
            }
        }
        return Rx.alt(options);
    }

    /** A JSON string: quotes around {@code body}. */
    static Rx string(Rx body) {
        return Rx.seq(Rx.literal("\""), body, Rx.literal("\""));
    }

    /** The literal {@code text}, JSON-quoted. */
    static Rx quoted(String text) {
        return Rx.literal(quote(text));
    }

    static String quote(String text) {
        try {
            return MAPPER.writeValueAsString(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static final com.fasterxml.jackson.databind.ObjectMapper MAPPER = new com.fasterxml.jackson.databind.ObjectMapper();

    private static Rx digits(int n) {
        return new Rx.Repeat(DIGIT, n, n);
    }

    private static Rx lits(String... options) {
        List<Rx> out = new ArrayList<>();
        for (String o : options) {
            out.add(Rx.literal(o));
        }
        return Rx.alt(out);
    }

    /** RFC 3339 full-date; February stops at the 28th, so every date it makes exists in every year. */
    static final Rx DATE = Rx.seq(digits(4), Rx.literal("-"), Rx.alt(
            Rx.seq(lits("01", "03", "05", "07", "08", "10", "12"), Rx.literal("-"), day(31)),
            Rx.seq(lits("04", "06", "09", "11"), Rx.literal("-"), day(30)),
            Rx.seq(Rx.literal("02"), Rx.literal("-"), day(28))));

    private static Rx day(int last) {
        Rx first = Rx.seq(Rx.literal("0"), NONZERO);
        Rx teens = Rx.seq(new Rx.Bytes('1', '2'), DIGIT);
        return switch (last) {
            case 31 -> Rx.alt(first, teens, Rx.seq(Rx.literal("3"), new Rx.Bytes('0', '1')));
            case 30 -> Rx.alt(first, teens, Rx.literal("30"));
            default -> Rx.alt(first, Rx.seq(Rx.literal("1"), DIGIT), Rx.seq(Rx.literal("2"), new Rx.Bytes('0', '8')));
        };
    }

    private static final Rx HOUR = Rx.alt(Rx.seq(new Rx.Bytes('0', '1'), DIGIT), Rx.seq(Rx.literal("2"), new Rx.Bytes('0', '3')));
    private static final Rx MINUTE = Rx.seq(new Rx.Bytes('0', '5'), DIGIT);

    /** Offsets as the world has them (up to 13:59 either way; java.time and validators refuse past 18:00). */
    private static final Rx OFFSET_HOUR = Rx.alt(Rx.seq(Rx.literal("0"), DIGIT), Rx.seq(Rx.literal("1"), new Rx.Bytes('0', '3')));

    /** RFC 3339 full-time (with its offset; no leap second). */
    static final Rx TIME = Rx.seq(HOUR, Rx.literal(":"), MINUTE, Rx.literal(":"), MINUTE,
            Rx.optional(Rx.seq(Rx.literal("."), new Rx.Repeat(DIGIT, 1, 6))),
            Rx.alt(Rx.literal("Z"), Rx.seq(Rx.literal("+"), OFFSET_HOUR, Rx.literal(":"), MINUTE),
                    // "-00:00" means "offset unknown" in RFC 3339, and validators refuse it: negative offsets start at -01:00
                    Rx.seq(Rx.literal("-"), Rx.alt(Rx.seq(Rx.literal("0"), NONZERO), Rx.seq(Rx.literal("1"), new Rx.Bytes('0', '3'))),
                            Rx.literal(":"), MINUTE)));

    static final Rx DATE_TIME = Rx.seq(DATE, Rx.literal("T"), TIME);

    static final Rx UUID = Rx.seq(new Rx.Repeat(HEX, 8, 8), Rx.literal("-"), new Rx.Repeat(HEX, 4, 4), Rx.literal("-"),
            new Rx.Repeat(HEX, 4, 4), Rx.literal("-"), new Rx.Repeat(HEX, 4, 4), Rx.literal("-"), new Rx.Repeat(HEX, 12, 12));

    private static final Rx ATEXT = Rx.alt(new Rx.Bytes('a', 'z'), new Rx.Bytes('A', 'Z'), DIGIT, lits("_", "+", "-"));
    private static final Rx LABEL = Rx.seq(Rx.alt(new Rx.Bytes('a', 'z'), DIGIT),
            new Rx.Repeat(Rx.alt(new Rx.Bytes('a', 'z'), DIGIT), 0, 20));

    /** A plain address (a dot-atom local part within RFC 5321's 64, lower-case host labels, a common top-level domain): every one is valid. */
    static final Rx EMAIL = Rx.seq(new Rx.Repeat(ATEXT, 1, 20), new Rx.Repeat(Rx.seq(Rx.literal("."), new Rx.Repeat(ATEXT, 1, 10)), 0, 2),
            Rx.literal("@"), LABEL, new Rx.Repeat(Rx.seq(Rx.literal("."), LABEL), 0, 2), Rx.literal("."),
            lits("com", "org", "net", "io", "dev", "edu"));

    private static final Rx OCTET = Rx.alt(DIGIT, Rx.seq(NONZERO, DIGIT), Rx.seq(Rx.literal("1"), DIGIT, DIGIT),
            Rx.seq(Rx.literal("2"), new Rx.Bytes('0', '4'), DIGIT), Rx.seq(Rx.literal("25"), new Rx.Bytes('0', '5')));

    static final Rx IPV4 = Rx.seq(OCTET, Rx.literal("."), OCTET, Rx.literal("."), OCTET, Rx.literal("."), OCTET);
}
