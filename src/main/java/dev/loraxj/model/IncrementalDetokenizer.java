package dev.loraxj.model;

import java.util.Arrays;

/**
 * Turns a stream of generated ids into text pieces, TGI's way (prefix_offset / read_offset):
 * decode a short window before and after the new token and emit the difference. The window keeps
 * SentencePiece's leading space right, and holding back while the text ends in U+FFFD waits for
 * the rest of a character split over byte-fallback tokens. One per sequence; not thread-safe.
 *
 * <p>Unlike TGI, special tokens stay out of the window (a special token's piece is its literal
 * text), so the ordinary tokens' pieces concatenate to exactly the {@code generated_text} a client
 * gets, which skips special tokens; TGI streams " Once" after {@code <s>} but answers "Once".
 */
public final class IncrementalDetokenizer {

    /** Ordinary prompt tokens of context, as TGI (prefix_offset = prompt length - 5). */
    static final int PROMPT_CONTEXT = 5;
    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private int[] ids;
    private int length;
    private int prefix;
    private int read;
    // the window as it was before the last next(): its token sits at ids[markLength] (if ordinary)
    private int markPrefix;
    private int markRead;
    private int markLength;
    private int[] scratch = new int[0];

    public IncrementalDetokenizer(Tokenizer tokenizer, int[] promptIds) {
        this.tokenizer = tokenizer;
        int[] ordinary = Arrays.stream(promptIds).filter(id -> !tokenizer.isSpecial(id)).toArray();
        int start = Math.max(0, ordinary.length - PROMPT_CONTEXT);
        this.length = ordinary.length - start;
        this.ids = Arrays.copyOfRange(ordinary, start, start + Math.max(16, 2 * length));
        this.prefix = 0;
        this.read = length;
    }

    /** The text this token adds; "" while it only extends an incomplete character. */
    public String next(int tokenId) {
        if (length == ids.length) {
            compactOrGrow();
        }
        markPrefix = prefix;
        markRead = read;
        markLength = length;
        if (tokenizer.isSpecial(tokenId)) {
            return tokenizer.tokenText(tokenId);
        }
        ids[length++] = tokenId;
        String before = tokenizer.decode(ids, prefix, read, true);
        String after = tokenizer.decode(ids, prefix, length, true);
        if (after.length() > before.length() && after.charAt(after.length() - 1) != REPLACEMENT) {
            prefix = read;
            read = length;
            return after.substring(before.length());
        }
        return "";
    }

    /** Text still held back at the end (an invalid byte sequence decodes to U+FFFD here), possibly "". */
    public String flush() {
        if (read == length) {
            return "";
        }
        String before = tokenizer.decode(ids, prefix, read, true);
        String after = tokenizer.decode(ids, prefix, length, true);
        prefix = read;
        read = length;
        return after.length() > before.length() ? after.substring(before.length()) : "";
    }

    /**
     * The text {@code tokenId} would have given in place of the token last passed to {@link #next}
     * (followed by {@link #flush} when {@code flushed}): an alternative decoded in the same context as
     * the chosen token, so the chosen one among them reads exactly as it was emitted. Changes nothing.
     */
    public String alternative(int tokenId, boolean flushed) {
        int n = markLength - markPrefix;
        String before = tokenizer.decode(ids, markPrefix, markRead, true);
        if (tokenizer.isSpecial(tokenId)) {
            if (!flushed || markRead == markLength) {
                return tokenizer.tokenText(tokenId);
            }
            String held = tokenizer.decode(ids, markPrefix, markLength, true);
            return tokenizer.tokenText(tokenId) + (held.length() > before.length() ? held.substring(before.length()) : "");
        }
        if (scratch.length < n + 1) {
            scratch = new int[Math.max(n + 1, ids.length + 1)];
        }
        System.arraycopy(ids, markPrefix, scratch, 0, n);
        scratch[n] = tokenId;
        String after = tokenizer.decode(scratch, 0, n + 1, true);
        if (after.length() > before.length() && (flushed || after.charAt(after.length() - 1) != REPLACEMENT)) {
            return after.substring(before.length());
        }
        return "";
    }

    /** Drops ids before the window so a long generation does not keep its whole history. */
    private void compactOrGrow() {
        int live = length - prefix;
        if (live * 2 <= ids.length) {
            System.arraycopy(ids, prefix, ids, 0, live);
        } else {
            int[] bigger = new int[ids.length * 2];
            System.arraycopy(ids, prefix, bigger, 0, live);
            ids = bigger;
        }
        read -= prefix;
        length = live;
        prefix = 0;
    }
}
