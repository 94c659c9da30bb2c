package dev.loraxj.engine;

import java.util.List;

/**
 * What the scheduler decided for one step, in batch order: one {@link Run} per sequence that
 * feeds tokens. The {@link dev.loraxj.backend.StepBatch} holds the same runs flattened for the
 * backend; this is the engine's view of them for reading the logits back.
 *
 * @param runs        the scheduled runs, in the order their rows sit in the batch
 * @param speculating whether this step's sequences draft candidates (few enough that verifying pays)
 */
record StepPlan(List<Run> runs, boolean speculating) {

    StepPlan {
        runs = List.copyOf(runs);
    }

    /**
     * One sequence's run of tokens this step.
     *
     * @param length        tokens fed (a prefill chunk, one decode token, or the last token and its candidates)
     * @param logitsFrom    index within the run from which logits are computed
     * @param firstLogitRow the batch's logit row of the run's token at {@code logitsFrom}
     * @param verifying     whether the run verifies speculative candidates
     * @param firstPosition the position of the run's first token (what the KV cache held before it)
     */
    record Run(Sequence sequence, int length, int logitsFrom, int firstLogitRow, boolean verifying, int firstPosition) {

        /** The logit row of the run's last token, whose logits choose the next one. */
        int lastLogitRow() {
            return firstLogitRow + (length - 1 - logitsFrom);
        }
    }
}
