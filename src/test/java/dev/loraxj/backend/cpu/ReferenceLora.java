package dev.loraxj.backend.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.model.SafeTensors;
import dev.loraxj.model.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A PEFT LoRA adapter read straight from its files, in double precision, for the reference forward:
 * {@code y += scale · (x Aᵀ) Bᵀ}, scale alpha/r or alpha/sqrt(r). Independent of the server's loader.
 */
final class ReferenceLora implements AutoCloseable {

    private final SafeTensors file;
    private final double scale;

    ReferenceLora(Path dir) throws IOException {
        JsonNode c = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        int r = c.get("r").asInt();
        double alpha = c.get("lora_alpha").asDouble();
        this.scale = c.path("use_rslora").asBoolean(false) ? alpha / Math.sqrt(r) : alpha / r;
        this.file = SafeTensors.open(dir.resolve("adapter_model.safetensors"));
    }

    /** Adds the update of the linear named {@code base} (e.g. model.layers.0.self_attn.q_proj) if present. */
    void addTo(String base, double[][] x, double[][] y) {
        Map<String, Tensor> t = file.tensors();
        Tensor a = t.get("base_model.model." + base + ".lora_A.weight");
        Tensor b = t.get("base_model.model." + base + ".lora_B.weight");
        if (a == null || b == null) {
            return;
        }
        double[][] shrunk = ReferenceLlama.matmul(x, a, null);
        double[][] delta = ReferenceLlama.matmul(shrunk, b, null);
        for (int i = 0; i < y.length; i++) {
            for (int j = 0; j < y[i].length; j++) {
                y[i][j] += scale * delta[i][j];
            }
        }
    }

    @Override
    public void close() {
        file.close();
    }
}
