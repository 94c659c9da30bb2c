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
}
