package dev.loraxj.backend;

import dev.loraxj.backend.cpu.CpuBackend;
import dev.loraxj.backend.cpu.Parallel;
import dev.loraxj.backend.cuda.CudaProbe;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.ModelException;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * Picks the device a model runs on ({@code loraxj.device}) and opens its backend. {@code auto} takes
 * CUDA when a device answers and a CUDA backend is built in, else the CPU; {@code cuda} without a
 * device fails at start, saying what the driver said.
 */
public final class BackendFactory {

    /** The device picked, and why (logged once at start). */
    public record Choice(String device, String reason) {
    }

    /** How the weights are held: {@code quantize} null for as the checkpoint has them, else {@link DType#I8} or {@link DType#I4}. */
    public record Options(DType quantize, boolean quantizeHead) {
    }

    /** Whether this build has a CUDA backend; the kernels and their loader come with issue 14. */
    static final boolean CUDA_BACKEND = false;

    private BackendFactory() {
    }

    /** The device for {@code setting} (auto, cpu, cuda), asking the CUDA driver only when it matters. */
    public static Choice choose(String setting, Supplier<CudaProbe.Answer> probe) {
        String s = setting == null ? "auto" : setting.trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "cpu" -> new Choice("cpu", "loraxj.device=cpu");
            case "cuda" -> {
                CudaProbe.Answer a = probe.get();
                if (!a.present()) {
                    throw new ModelException("loraxj.device=cuda, but no CUDA device answers: " + a.reason()
                            + "; use loraxj.device=auto or cpu to run on the CPU");
                }
                if (!CUDA_BACKEND) {
                    throw new ModelException("loraxj.device=cuda: " + a.device() + " answers, but this build has no CUDA backend yet;"
                            + " use loraxj.device=auto or cpu to run on the CPU");
                }
                yield new Choice("cuda", "loraxj.device=cuda: " + a.device());
            }
            case "auto", "" -> {
                CudaProbe.Answer a = probe.get();
                if (!a.present()) {
                    yield new Choice("cpu", "loraxj.device=auto and " + a.reason());
                }
                if (!CUDA_BACKEND) {
                    yield new Choice("cpu", "loraxj.device=auto: " + a.device() + " answers, but this build has no CUDA backend yet");
                }
                yield new Choice("cuda", "loraxj.device=auto: " + a.device() + " answers");
            }
            default -> throw new ModelException("loraxj.device must be auto, cpu or cuda, got " + setting);
        };
    }

    /** Opens the backend of {@code choice} over the checkpoint (which must stay open while it is used). */
    public static Backend open(Choice choice, Checkpoint checkpoint, ModelConfig config, Parallel pool, Options options) {
        return switch (choice.device()) {
            case "cpu" -> CpuBackend.load(checkpoint, config, pool, options.quantize(), options.quantizeHead());
            default -> throw new ModelException("no backend for device " + choice.device());
        };
    }
}
