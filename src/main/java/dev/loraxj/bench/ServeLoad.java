package dev.loraxj.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The load figure of {@code bench serve}: {@code --clients} concurrent clients, each a streamed
 * OpenAI {@code /v1/completions} of a fresh ~{@code --prompt-tokens} prompt with max_tokens
 * {@code --tokens}, greedy, EOS ignored; one burst per adapter mix per round ({@code --adapters}: 0
 * is the base model, n spreads the clients over n random adapters, client i on adapter i mod n).
 * The same client runs against the packaged server or, with {@code --url}, any server that speaks
 * the OpenAI wire (llama-server), so the two can be set side by side.
 */
final class ServeLoad {

    /**
     * Medians over rounds; {@code meanTokens}: tokens a client received (the server's count), {@code promptTokens}: the mean
     * the server counted, NaN where it did not say.
     */
    record Point(int adapters, int clients, int tokens, double tokensPerSecond, double ttftP50, double ttftP90, double latencyP50,
                 double meanTokens, double promptTokens) {
    }

    private ServeLoad() {
    }

    static List<Point> run(ServeSetup s, StreamingLoad.Server server, ServeSetup.Adapters adapters) {
        ServeBench.Options o = s.o;
        int[] counts = o.adapterCounts();
        s.out.printf(Locale.ROOT, "%nload: %d clients, streamed /v1/completions of ~%d-token prompts (new each burst), max_tokens %d,"
                + " greedy, EOS ignored; against %s%n", o.clients(), o.promptTokens(), o.tokens(), server.base());
        s.out.printf(Locale.ROOT, "  %-5s %-9s %9s %9s %9s %9s %7s %7s%n", "round", "adapters", "tok/s", "TTFT p50", "TTFT p90",
                "lat p50", "prompt", "wall s");
        List<List<double[]>> rows = new ArrayList<>();
        for (int k = 0; k < counts.length; k++) {
            rows.add(new ArrayList<>());
        }
        long burst = 1;
        for (int r = 0; r < o.rounds(); r++) {
            for (int j = 0; j < counts.length; j++) {
                int k = (j + r) % counts.length;
                int n = counts[k];
                Function<Integer, String> adapter = n == 0 ? i -> null : i -> adapters.id(i % n);
                List<StreamingLoad.Request> reqs = new ArrayList<>();
                for (int i = 0; i < o.clients(); i++) {
                    // a new prompt per burst, so no server reuses an earlier burst's KV
                    reqs.add(new StreamingLoad.Request(s.prompts.client(i, burst, o.promptTokens()), adapter.apply(i), o.tokens(), 0,
                            null, StreamingLoad.Wire.OPENAI));
                }
                burst++;
                StreamingLoad.Round round = StreamingLoad.run(server, reqs, o.timeout());
                double[] row = {round.tokensPerSecond(), round.ttftSeconds(0.5), round.ttftSeconds(0.9), round.latencySeconds(0.5),
                        round.tokens() / (double) o.clients(), round.meanPromptTokens()};
                rows.get(k).add(row);
                s.out.printf(Locale.ROOT, "  %-5d %-9s %9.1f %8.3fs %8.3fs %8.3fs %7.1f %7.1f%n", r + 1, n == 0 ? "base" : String.valueOf(n),
                        row[0], row[1], row[2], row[3], row[5], round.wallNanos() / 1e9);
            }
        }
        List<Point> points = new ArrayList<>();
        for (int k = 0; k < counts.length; k++) {
            List<double[]> x = rows.get(k);
            Point p = new Point(counts[k], o.clients(), o.tokens(), ServeBench.median(x, 0), ServeBench.median(x, 1),
                    ServeBench.median(x, 2), ServeBench.median(x, 3), ServeBench.median(x, 4), ServeBench.median(x, 5));
            points.add(p);
            // one line per point in a fixed key=value form, for scripts (bench/compare-llamacpp.sh)
            s.out.printf(Locale.ROOT, "  load adapters=%d clients=%d tokens=%d tokens_per_s=%.2f ttft_p50_s=%.4f ttft_p90_s=%.4f"
                            + " latency_p50_s=%.4f tokens_per_client=%.1f prompt_tokens=%.1f%n", p.adapters(), p.clients(), p.tokens(),
                    p.tokensPerSecond(), p.ttftP50(), p.ttftP90(), p.latencyP50(), p.meanTokens(), p.promptTokens());
        }
        return List.copyOf(points);
    }
}
