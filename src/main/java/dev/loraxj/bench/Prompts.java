package dev.loraxj.bench;

import dev.loraxj.model.Tokenizer;

import java.util.SplittableRandom;

/**
 * Prompts of a given length in tokens, from story words, measured with the served tokenizer (BOS
 * included). A client's prompt starts with its own number, so no two share a full KV block unless
 * they are meant to.
 */
final class Prompts {

    private static final String[] WORDS = ("the a little girl boy dog cat bird tree park ball red big happy sad mom dad "
            + "went saw played ran jumped found wanted said day sun sky house friend toy box car garden flower water "
            + "and with to in on under over because then so very one time once upon there was named Lily Tom Ben Sue")
            .split(" ");

    private final Tokenizer tokenizer;

    Prompts(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    int length(String text) {
        return tokenizer.encode(text).length;
    }

    /** {@code head} followed by random words until the whole is at least {@code tokens} tokens long. */
    String build(String head, long seed, int tokens) {
        SplittableRandom random = new SplittableRandom(seed);
        StringBuilder text = new StringBuilder(head);
        // add words in strides, then one at a time near the target, so a 512-token prompt costs few encodes
        for (int guard = 0; guard < 100_000; guard++) {
            int have = length(text.toString());
            if (have >= tokens) {
                return text.toString();
            }
            int words = Math.max(1, (tokens - have) / 3);
            for (int w = 0; w < words; w++) {
                text.append(text.isEmpty() ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
            }
        }
        throw new IllegalStateException("cannot build a prompt of " + tokens + " tokens");
    }

    /** A prompt of about {@code tokens} tokens unique to {@code client}. */
    String client(int client, long round, int tokens) {
        return build("Story " + client + "." + round + ":", 1_000_003L * client + round, tokens);
    }
}
