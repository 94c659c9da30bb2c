package dev.loraxj.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The endpoint picker's LoRA-affinity rule, ported from its lora-affinity-scorer
 * (pkg/epp/framework/plugins/scheduling/scorer/loraaffinity, v1.5.0) with its max-score-picker, which
 * shuffles the candidates so that equal scores are broken at random.
 */
final class LoraAffinity {

    private LoraAffinity() {
    }

    /** 1.0 where the adapter runs, 0.8 where there is room for one more, 0.6 where it waits, else 0. */
    static double score(EppMetrics m, String model) {
        boolean active = m.activeModels().contains(model);
        boolean waiting = m.waitingModels().contains(model);
        if (active) {
            return 1.0;
        }
        if (m.activeModels().size() + m.waitingModels().size() < m.maxActiveModels()) {
            return 0.8;
        }
        if (waiting) {
            return 0.6;
        }
        return 0.0;
    }

    /** The endpoint with the highest score, ties broken at random. */
    static int pick(List<EppMetrics> endpoints, String model, RandomGenerator random) {
        List<Integer> best = new ArrayList<>();
        double top = -1;
        for (int i = 0; i < endpoints.size(); i++) {
            double s = score(endpoints.get(i), model);
            if (s > top) {
                top = s;
                best.clear();
            }
            if (s == top) {
                best.add(i);
            }
        }
        return best.get(random.nextInt(best.size()));
    }
}
