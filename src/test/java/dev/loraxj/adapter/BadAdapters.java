package dev.loraxj.adapter;

import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Writes broken adapters for the tests that check each fails only its own requests. */
public final class BadAdapters {

    private BadAdapters() {
    }

    /** A directory with an adapter_config.json and nothing else. */
    public static void missingWeights(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"),
                "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"]}");
    }

    /** A valid random adapter whose safetensors header is cut short. */
    public static void truncatedHeader(Path dir, ModelConfig base) throws IOException {
        RandomLora.write(dir, base, 4, 8, false, List.of("q_proj"), DType.F32, 1, 0.05);
        Path f = dir.resolve("adapter_model.safetensors");
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, 40));
    }

    /** An adapter_model.bin whose pickle calls os.system. */
    public static void maliciousBin(Path dir) throws IOException {
        missingWeights(dir);
        TorchZipWriter.Pickle p = new TorchZipWriter.Pickle().proto(2).global("os", "system").string("touch /tmp/pwned")
                .op(0x85, TorchZipWriter.Pickle.REDUCE, TorchZipWriter.Pickle.STOP);
        TorchZipWriter.writeZip(dir.resolve("adapter_model.bin"), "adapter_model", Map.of("data.pkl", p.bytes()));
    }

    /** A random adapter for a model with another hidden size. */
    public static void otherBaseModel(Path dir, ModelConfig base) {
        ModelConfig other = new ModelConfig(base.modelType(), base.hiddenSize() * 2, base.intermediateSize(), base.numLayers(),
                base.numHeads(), base.numKvHeads(), base.headDim() * 2, base.vocabSize(), base.maxPositionEmbeddings(),
                base.rmsNormEps(), base.ropeTheta(), base.tieWordEmbeddings(), false, false, false, 0, "float32",
                base.bosTokenId(), base.eosTokenIds(), new float[base.headDim()]);
        RandomLora.write(dir, other, 4, 8, false, List.of("q_proj", "v_proj"), DType.F32, 2, 0.05);
    }

    /** A random adapter whose config targets a module Llama does not have. */
    public static void unknownTarget(Path dir, ModelConfig base) throws IOException {
        RandomLora.write(dir, base, 4, 8, false, List.of("q_proj"), DType.F32, 3, 0.05);
        Path c = dir.resolve("adapter_config.json");
        Files.writeString(c, Files.readString(c).replace("\"q_proj\"", "\"q_proj\", \"c_attn\""));
    }

    /** A q_proj adapter (r=4, alpha 8) whose every lora_B weight is {@code value}: NaN, an infinity, or a finite overflow. */
    public static void filledB(Path dir, ModelConfig base, DType dtype, float value) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"),
                "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"]}");
        dev.loraxj.model.SafeTensorsWriter w = new dev.loraxj.model.SafeTensorsWriter();
        int d = base.hiddenSize();
        int out = base.numHeads() * base.headDim();
        for (int layer = 0; layer < base.numLayers(); layer++) {
            String prefix = "base_model.model.model.layers." + layer + ".self_attn.q_proj";
            float[] a = new float[4 * d];
            java.util.Arrays.fill(a, 0.01f);
            float[] b = new float[out * 4];
            java.util.Arrays.fill(b, value);
            w.add(prefix + ".lora_A.weight", dtype, a, 4, d);
            w.add(prefix + ".lora_B.weight", dtype, b, out, 4);
        }
        w.write(dir.resolve("adapter_model.safetensors"));
    }

    /** A valid random adapter whose adapter_config.json says {@code "key": value} (raw JSON) instead. */
    public static void withConfig(Path dir, ModelConfig base, String key, String rawValue) throws IOException {
        RandomLora.write(dir, base, 4, 8, false, List.of("q_proj"), DType.F32, 4, 0.05);
        Path c = dir.resolve("adapter_config.json");
        com.fasterxml.jackson.databind.node.ObjectNode config =
                (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.toFile());
        config.set(key, new com.fasterxml.jackson.databind.ObjectMapper().readTree(rawValue));
        Files.writeString(c, config.toString());
    }
}
