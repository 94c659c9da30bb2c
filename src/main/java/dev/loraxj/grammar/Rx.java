package dev.loraxj.grammar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A rule body: a regular expression over UTF-8 bytes that may call other rules (which is what makes
 * recursive schemas possible). Values, so equal bodies are one rule.
 */
sealed interface Rx {

    /** One byte in [lo, hi]. */
    record Bytes(int lo, int hi) implements Rx {
        public Bytes {
            if (lo < 0 || hi > 255 || lo > hi) {
                throw new IllegalArgumentException("byte range " + lo + ".." + hi);
            }
        }
    }

    record Seq(List<Rx> items) implements Rx {
        public Seq {
            items = List.copyOf(items);
        }
    }

    record Alt(List<Rx> options) implements Rx {
        public Alt {
            options = List.copyOf(options);
        }
    }

    /** {@code body} repeated min..max times; max -1: unbounded. */
    record Repeat(Rx body, int min, int max) implements Rx {
        public Repeat {
            if (min < 0 || max != -1 && max < min) {
                throw new IllegalArgumentException("repeat {" + min + "," + max + "}");
            }
        }
    }

    /** The rule {@code rule} of the same {@link Rules}. */
    record Call(int rule) implements Rx {
    }

    /**
     * JSON members in order, each either there or not ({@code required} ones always), joined by
     * {@code separator}: two tracks (nothing written yet, something written) keep it linear in size.
     */
    record Members(List<Rx> members, List<Boolean> required, Rx separator) implements Rx {
        public Members {
            members = List.copyOf(members);
            required = List.copyOf(required);
        }
    }

    /** Any bytes that do not contain {@code literal} (tool calls' free text before the opening tag). */
    record Avoid(String literal) implements Rx {
    }

    Rx EMPTY = new Seq(List.of());

    static Rx literal(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        List<Rx> items = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            items.add(new Bytes(b & 0xff, b & 0xff));
        }
        return items.size() == 1 ? items.getFirst() : new Seq(items);
    }

    static Rx seq(Rx... items) {
        return new Seq(List.of(items));
    }

    static Rx alt(List<Rx> options) {
        return options.size() == 1 ? options.getFirst() : new Alt(options);
    }

    static Rx alt(Rx... options) {
        return alt(List.of(options));
    }

    static Rx optional(Rx body) {
        return new Repeat(body, 0, 1);
    }

    static Rx star(Rx body) {
        return new Repeat(body, 0, -1);
    }

    static Rx plus(Rx body) {
        return new Repeat(body, 1, -1);
    }
}
