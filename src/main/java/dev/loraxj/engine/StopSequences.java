package dev.loraxj.engine;

import java.util.List;

/**
 * Watches the generated text for stop strings, across token boundaries and inside one token's
 * text. Only the last (longest stop - 1) characters are kept: any match that ends in a new piece
 * starts no further back than that. One per sequence; not thread-safe.
 */
public final class StopSequences {

    private final String[] stops;
    private final int keep;
    private final StringBuilder window = new StringBuilder();

    public StopSequences(List<String> stops) {
        this.stops = stops.toArray(String[]::new);
        int longest = 0;
        for (String s : this.stops) {
            if (s == null) {
                throw new IllegalArgumentException("stop sequences must not be null");
            }
            longest = Math.max(longest, s.length());
        }
        this.keep = Math.max(0, longest - 1);
    }

    /**
     * Feeds the text a new token added; returns the index of the stop sequence now contained in the
     * generated text, or -1. When several appear, the one whose match ends first wins (then the lower index).
     */
    public int append(String piece) {
        if (stops.length == 0) {
            return -1;
        }
        window.append(piece);
        int found = -1;
        int foundEnd = Integer.MAX_VALUE;
        for (int i = 0; i < stops.length; i++) {
            int at = window.indexOf(stops[i]);
            if (at >= 0 && at + stops[i].length() < foundEnd) {
                found = i;
                foundEnd = at + stops[i].length();
            }
        }
        if (window.length() > keep) {
            window.delete(0, window.length() - keep);
        }
        return found;
    }

    /** How many characters are held for matching across pieces (for tests). */
    int retained() {
        return window.length();
    }
}
