package dev.loraxj;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The shared test assets (../shared beside the repository). Tests that need them fail with a
 * clear message when they are missing; they never skip.
 */
public final class SharedAssets {

    private SharedAssets() {
    }

    public static Path root() {
        String prop = System.getProperty("shared.dir");
        Path root = prop != null ? Path.of(prop) : Path.of("..", "shared");
        root = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(root.resolve("models"))) {
            fail("shared test assets not found at " + root + ": clone this repository beside ../shared"
                    + " (or pass -Dshared.dir=/path/to/shared)");
        }
        return root;
    }

    public static Path path(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            fail("shared test asset missing: " + p);
        }
        return p;
    }

    public static Path stories260K() {
        return path("models/stories260K");
    }

    public static Path adapter(String name) {
        return path("adapters/stories260K/" + name);
    }

    public static Path golden(String name) {
        return path("golden/stories260K/" + name);
    }

    /** A little-endian float32 file. */
    public static float[] floats(String goldenName) {
        try {
            byte[] bytes = Files.readAllBytes(golden(goldenName));
            float[] out = new float[bytes.length / 4];
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        } catch (IOException e) {
            throw new AssertionError("cannot read golden " + goldenName, e);
        }
    }

    /** log_softmax(logits[off, off+n))[id] in double precision: the independent reference for logprobs. */
    public static double logSoftmax(float[] logits, int off, int n, int id) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(logits[off + i] - max);
        }
        return logits[off + id] - max - Math.log(sum);
    }

    /** The 13-token golden prompt, "Once upon a time, there was a little girl" with BOS. */
    public static final int[] PROMPT = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421};
}
