package dev.loraxj.engine;

import java.util.List;

/** When a sequence stops: after {@code maxNewTokens}, at EOS unless ignored, or at a stop sequence. */
public record StoppingParams(int maxNewTokens, List<String> stopSequences, boolean ignoreEos) {
    public StoppingParams {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be >= 1");
        }
        stopSequences = List.copyOf(stopSequences);
    }
}
