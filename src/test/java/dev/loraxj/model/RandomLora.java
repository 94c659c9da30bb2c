package dev.loraxj.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** Writes a PEFT LoRA adapter (F32, r 4, alpha 8) with random A and B for q, v, gate and down of a {@link RandomLlama.Shape}. */
public final class RandomLora {

    private RandomLora() {
    }

    public static Path write(Path dir, RandomLlama.Shape s, long seed) {
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        int r = 4;
        SplittableRandom rnd = new SplittableRandom(seed);
        SafeTensorsWriter st = new SafeTensorsWriter();
        for (int l = 0; l < s.layers(); l++) {
            String p = "base_model.model.model.layers." + l + ".";
            pair(st, p + "self_attn.q_proj", r, s.hidden(), q, rnd);
            pair(st, p + "self_attn.v_proj", r, s.hidden(), kv, rnd);
            pair(st, p + "mlp.gate_proj", r, s.hidden(), s.ffn(), rnd);
            pair(st, p + "mlp.down_proj", r, s.ffn(), s.hidden(), rnd);
        }
        try {
            Files.createDirectories(dir);
            st.write(dir.resolve("adapter_model.safetensors"));
            Files.writeString(dir.resolve("adapter_config.json"), """
                    {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "bias": "none",
                     "fan_in_fan_out": false, "use_rslora": false, "target_modules": ["q_proj", "v_proj", "gate_proj", "down_proj"]}
                    """);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Large enough (uniform in ±0.3) that the update outweighs the 0.02-scale base weights and moves greedy tokens. */
    private static void pair(SafeTensorsWriter st, String base, int r, int in, int out, SplittableRandom rnd) {
        st.add(base + ".lora_A.weight", DType.F32, uniform(r * in, rnd), r, in);
        st.add(base + ".lora_B.weight", DType.F32, uniform(out * r, rnd), out, r);
    }

    private static float[] uniform(int n, SplittableRandom rnd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextDouble(-0.3, 0.3);
        }
        return v;
    }
}
