package dev.loraxj.engine;

import java.util.List;

/**
 * One token as reported to clients. {@code logprob} is NaN where there is none (a prompt's first
 * token); {@code alternatives} is null unless the request asked for them.
 */
public record TokenInfo(int id, String text, float logprob, boolean special, List<TokenInfo> alternatives) {
}
