package dev.loraxj.backend.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The device kit's benchmark: a plain main (no Quarkus) that asks the driver for a device, then runs
 * {@link DeviceBench} on a random Llama-3.2-1B-shaped model made on the GPU. Each figure is printed
 * and appended to {@code $OUT/device-bench.txt} when {@code OUT} is set. Without a device it says why
 * and exits with status 3, which is what the kit's self-check on a CPU-only machine expects.
 */
public final class DeviceCheck {

    static final int NO_DEVICE = 3;

    private DeviceCheck() {
    }

    public static void main(String[] args) {
        String out = System.getenv("OUT");
        Path file = out == null || out.isBlank() ? null : Path.of(out, "device-bench.txt");
        CudaProbe.Answer a = CudaProbe.probe();
        String why = a.present() ? CudaBackend.unavailable() : a.reason();
        if (why != null) {
            System.out.println("no CUDA device: " + why);
            System.exit(NO_DEVICE);
        }
        System.out.println("CUDA device: " + a.device() + ", " + (a.totalMemory() >> 20) + " MiB");
        long start = System.nanoTime();
        try (CudaBackend backend = CudaBackend.random(DeviceBench.llama1B(), 1)) {
            System.out.printf("random 1B-shape model made on the device in %.1f s%n", (System.nanoTime() - start) / 1e9);
            new DeviceBench(backend, line -> {
                System.out.println(line);
                if (file != null) {
                    append(file, line);
                }
            }).run();
        }
    }

    private static void append(Path file, String line) {
        try {
            Files.writeString(file, line + System.lineSeparator(), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
