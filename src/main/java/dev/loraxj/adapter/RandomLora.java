package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.SafeTensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/** Writes random PEFT LoRA adapters for a base model, for tests and the bench. */
public final class RandomLora {

    /** The seven linears of a Llama block, as PEFT names them. */
    public static final List<String> ALL_MODULES = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    private RandomLora() {
    }

    /**
     * Writes adapter_config.json and adapter_model.safetensors into {@code dir}. Weights are
     * N(0, std) for A and B alike, so the update is visible in the logits.
     */
    public static void write(Path dir, ModelConfig base, int rank, double alpha, boolean rslora, List<String> modules,
                             DType dtype, long seed, double std) {
        try {
            Files.createDirectories(dir);
            ObjectMapper json = new ObjectMapper();
            ObjectNode c = json.createObjectNode();
            c.put("peft_type", "LORA").put("task_type", "CAUSAL_LM").put("base_model_name_or_path", "random")
                    .put("r", rank).put("lora_alpha", alpha).put("lora_dropout", 0.0).put("bias", "none")
                    .put("fan_in_fan_out", false).put("use_rslora", rslora).put("inference_mode", true);
            ArrayNode targets = c.putArray("target_modules");
            modules.forEach(targets::add);
            Files.writeString(dir.resolve("adapter_config.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(c));
            SplittableRandom random = new SplittableRandom(seed);
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (int layer = 0; layer < base.numLayers(); layer++) {
                for (String m : modules) {
                    dev.loraxj.backend.LinearModule module = dev.loraxj.backend.LinearModule.byShortName(m);
                    int in = module.in(base);
                    int out = module.out(base);
                    String prefix = "base_model.model.model.layers." + layer + "." + module.path();
                    w.add(prefix + ".lora_A.weight", dtype, gaussian(random, rank * in, std), rank, in);
                    w.add(prefix + ".lora_B.weight", dtype, gaussian(random, out * rank, std), out, rank);
                }
            }
            w.write(dir.resolve("adapter_model.safetensors"));
        } catch (IOException e) {
            throw new AdapterException("cannot write a random adapter to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static float[] gaussian(SplittableRandom random, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (gaussian(random) * std);
        }
        return out;
    }

    private static double gaussian(SplittableRandom random) {
        double u = random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }
}
