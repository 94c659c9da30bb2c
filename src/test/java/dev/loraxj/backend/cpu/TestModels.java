package dev.loraxj.backend.cpu;

import dev.loraxj.SharedAssets;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.RandomLlama;
import dev.loraxj.model.SafeTensorsWriter;
import dev.loraxj.model.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Model directories for backend tests, written under a temp dir. */
final class TestModels {

    /** Off the vector width everywhere: hidden 96, head_dim 32 with 3 heads over 1 KV head, FFN 200, vocab 300. */
    static final RandomLlama.Shape ODD = new RandomLlama.Shape("llama", 96, 200, 2, 3, 1, 32, 300, false, false, false, 0);

    private TestModels() {
    }

    /** stories260K with every tensor re-encoded as {@code dtype} (tokenizer files copied alongside). */
    static Path stories260KAs(Path tmp, DType dtype) {
        Path src = SharedAssets.stories260K();
        Path dir = tmp.resolve("stories260K-" + dtype);
        try (Checkpoint ckpt = Checkpoint.open(src)) {
            Files.createDirectories(dir);
            Files.copy(src.resolve("config.json"), dir.resolve("config.json"), StandardCopyOption.REPLACE_EXISTING);
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (Tensor t : ckpt.tensors().values()) {
                w.add(t.name(), dtype, t.toFloats(), t.shape());
            }
            w.write(dir.resolve("model.safetensors"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path random(Path tmp, String name, RandomLlama.Shape shape, DType dtype) {
        Path dir = tmp.resolve(name + "-" + dtype);
        RandomLlama.write(dir, shape, dtype, 42);
        return dir;
    }
}
