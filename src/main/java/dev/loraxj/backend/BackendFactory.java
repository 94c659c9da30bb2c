package dev.loraxj.backend;

import dev.loraxj.backend.cpu.CpuBackend;
import dev.loraxj.backend.cpu.Parallel;
import dev.loraxj.backend.cuda.CudaBackend;
import dev.loraxj.backend.cuda.CudaProbe;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.ModelException;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * Picks the device a model runs on ({@code loraxj.device}) and opens its backend. {@code auto} takes
 * CUDA when a device answers and the JCuda backend loads, else the CPU; {@code cuda} without a
 * device fails at start, saying what the driver said.
 */
public final class BackendFactory {

    /** The device picked, and why (logged once at start). */
    public record Choice(String device, String reason) {
    }

    /** How the weights are held: {@code quantize} null for as the checkpoint has them, else {@link DType#I8} or {@link DType#I4}. */
    public record Options(DType quantize, boolean quantizeHead) {
    }

    private BackendFactory() {
    }

    /** Why the JCuda backend cannot run in this process, or null when it can; asked only when a device answers. */
    static String cudaBackendUnavailable() {
        return CudaBackend.unavailable();
    }

    /** The device for {@code setting} (auto, cpu, cuda), asking the CUDA driver only when it matters. */
    public static Choice choose(String setting, Supplier<CudaProbe.Answer> probe) {
        return choose(setting, probe, BackendFactory::cudaBackendUnavailable);
    }

    /** As above, with {@code backend} saying why the CUDA backend cannot run (null when it can). */
    static Choice choose(String setting, Supplier<CudaProbe.Answer> probe, Supplier<String> backend) {
        String s = setting == null ? "auto" : setting.trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "cpu" -> new Choice("cpu", "loraxj.device=cpu");
            case "cuda" -> {
                CudaProbe.Answer a = probe.get();
                if (!a.present()) {
                    throw new ModelException("loraxj.device=cuda, but no CUDA device answers: " + a.reason()
                            + "; use loraxj.device=auto or cpu to run on the CPU");
                }
                String why = backend.get();
                if (why != null) {
                    throw new ModelException("loraxj.device=cuda: " + a.device() + " answers, but the CUDA backend cannot run: " + why
                            + "; use loraxj.device=auto or cpu to run on the CPU");
                }
                yield new Choice("cuda", "loraxj.device=cuda: " + a.device());
            }
            case "auto", "" -> {
                CudaProbe.Answer a = probe.get();
                if (!a.present()) {
                    yield new Choice("cpu", "loraxj.device=auto and " + a.reason());
                }
                String why = backend.get();
                if (why != null) {
                    yield new Choice("cpu", "loraxj.device=auto: " + a.device() + " answers, but the CUDA backend cannot run: " + why);
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
            case "cuda" -> CudaBackend.load(checkpoint, config, options.quantize());
            default -> throw new ModelException("no backend for device " + choice.device());
        };
    }
}
