package dev.loraxj.api;

import dev.loraxj.SharedAssets;
import dev.loraxj.model.DType;
import dev.loraxj.model.RandomLlama;
import io.quarkus.test.junit.QuarkusTestProfile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * A random 25M-parameter Llama with stories260K's tokenizer: slow enough on a CPU that a stream
 * is still running when a test acts on it (disconnects, fills the server).
 */
public class SlowModelProfile implements QuarkusTestProfile {

    static final int MAX_CONCURRENT = 3;

    static synchronized Path model() {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "loraxj-test-models", "slow-512x8-v1");
        try {
            if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
                Path tmp = Files.createDirectories(dir.resolveSibling(dir.getFileName() + ".tmp" + ProcessHandle.current().pid()));
                RandomLlama.write(tmp, new RandomLlama.Shape("llama", 512, 1376, 8, 8, 8, 64, 512, true, false, false, 0), DType.F32, 11);
                for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
                    Files.copy(SharedAssets.stories260K().resolve(f), tmp.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the slow test model", e);
        }
        return dir;
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("loraxj.model-id", model().toString(),
                "loraxj.max-concurrent-requests", String.valueOf(MAX_CONCURRENT),
                "loraxj.threads", "1");
    }
}
