package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.SafeTensors;
import dev.loraxj.model.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads Medusa heads: {@code config.json} ({@code medusa_num_heads}, {@code medusa_num_layers}) and
 * {@code medusa_lm_head.safetensors}. LoRAX's rule picks the layout: v1 when there is more than one
 * layer or a {@code 0.<layers>.weight} head tensor, else v2.
 */
public final class MedusaLoader {

    public static final String WEIGHTS = "medusa_lm_head.safetensors";

    private MedusaLoader() {
    }

    public static boolean present(Path dir) {
        return Files.isRegularFile(dir.resolve(WEIGHTS));
    }

    public static MedusaHeads load(Path dir, ModelConfig base) {
        JsonNode c;
        try {
            c = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        } catch (IOException e) {
            throw new AdapterException("Medusa adapter has no readable config.json: " + e.getMessage(), e);
        }
        int heads = c.path("medusa_num_heads").asInt(0);
        int layers = c.path("medusa_num_layers").asInt(0);
        if (heads < 1 || layers < 1) {
            throw new AdapterException("Medusa config.json needs positive medusa_num_heads and medusa_num_layers");
        }
        int d = base.hiddenSize();
        if (c.has("hidden_size") && c.get("hidden_size").asInt() != d) {
            throw new AdapterException("Medusa adapter for another base model: hidden_size " + c.get("hidden_size").asInt()
                    + ", the base model has " + d);
        }
        try (SafeTensors f = SafeTensors.open(dir.resolve(WEIGHTS))) {
            Map<String, Tensor> t = f.tensors();
            boolean v1 = layers > 1 || t.containsKey("0." + layers + ".weight");
            float[][][] w = new float[heads][layers][];
            float[][][] b = new float[heads][layers][];
            float[][] own = v1 ? new float[heads][] : null;
            for (int i = 0; i < heads; i++) {
                for (int j = 0; j < layers; j++) {
                    w[i][j] = tensor(t, i + "." + j + ".linear.weight", d, d).toFloats();
                    b[i][j] = tensor(t, i + "." + j + ".linear.bias", d).toFloats();
                }
                if (v1) {
                    own[i] = tensor(t, i + "." + layers + ".weight", base.vocabSize(), d).toFloats();
                }
            }
            return new MedusaHeads(v1 ? 1 : 2, heads, layers, d, w, b, own);
        }
    }

    private static Tensor tensor(Map<String, Tensor> t, String name, long... shape) {
        Tensor x = t.get(name);
        if (x == null) {
            throw new AdapterException("Medusa adapter lacks tensor " + name);
        }
        if (!java.util.Arrays.equals(x.shape(), shape)) {
            throw new AdapterException("Medusa adapter for another base model: " + name + " has shape " + x.shapeString()
                    + ", the base model needs " + java.util.Arrays.toString(shape));
        }
        return x;
    }
}
