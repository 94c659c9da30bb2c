package dev.loraxj.backend;

import dev.loraxj.backend.cuda.CudaProbe;
import dev.loraxj.model.ModelException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** loraxj.device: what each setting picks, and the reasons it gives, with the real driver probe and with answers made up. */
class BackendFactoryTest {

    private static final CudaProbe.Answer NO_DRIVER = new CudaProbe.Answer(false, null, 0, 0, "no CUDA driver is installed (libcuda.so.1 not found)");
    private static final CudaProbe.Answer H200 = new CudaProbe.Answer(true, "NVIDIA H200", 150_000_000_000L, 1, null);

    @Test
    void cpuNeverAsksTheDriver() {
        BackendFactory.Choice c = BackendFactory.choose("cpu", () -> {
            throw new AssertionError("the driver was asked");
        });
        assertEquals("cpu", c.device());
    }

    @Test
    void autoWithoutADeviceTakesTheCpuAndSaysWhatTheDriverSaid() {
        BackendFactory.Choice c = BackendFactory.choose("auto", () -> NO_DRIVER);
        assertEquals("cpu", c.device());
        assertTrue(c.reason().contains("libcuda.so.1 not found"), c.reason());
    }

    @Test
    void autoWithADeviceWhereTheBackendCannotRunTakesTheCpuAndSaysWhy() {
        BackendFactory.Choice c = BackendFactory.choose("AUTO", () -> H200, () -> "JCuda's driver binding does not load (x)");
        assertEquals("cpu", c.device());
        assertTrue(c.reason().contains("NVIDIA H200 answers, but the CUDA backend cannot run: JCuda's driver binding does not load (x)"),
                c.reason());
    }

    @Test
    void aDeviceAndALoadingBackendPickCudaForAutoAndCuda() {
        assertEquals("cuda", BackendFactory.choose("auto", () -> H200, () -> null).device());
        assertEquals("cuda", BackendFactory.choose("cuda", () -> H200, () -> null).device());
        ModelException e = assertThrows(ModelException.class, () -> BackendFactory.choose("cuda", () -> H200, () -> "no libcuda"));
        assertTrue(e.getMessage().startsWith("loraxj.device=cuda: NVIDIA H200 answers, but the CUDA backend cannot run: no libcuda"),
                e.getMessage());
    }

    @Test
    void cudaWithoutADeviceFailsAtStartWithWhatTheDriverSaid() {
        ModelException e = assertThrows(ModelException.class, () -> BackendFactory.choose("cuda", () -> NO_DRIVER));
        assertEquals("loraxj.device=cuda, but no CUDA device answers: no CUDA driver is installed (libcuda.so.1 not found);"
                + " use loraxj.device=auto or cpu to run on the CPU", e.getMessage());
    }

    @Test
    void anUnknownDeviceIsRefused() {
        ModelException e = assertThrows(ModelException.class, () -> BackendFactory.choose("tpu", () -> H200));
        assertEquals("loraxj.device must be auto, cpu or cuda, got tpu", e.getMessage());
    }

    /** The real driver, whatever this machine has: auto always serves, and picks CUDA exactly when a device answers and JCuda loads. */
    @Test
    void theRealProbeNeverThrowsAndAutoAlwaysServes() {
        CudaProbe.Answer a = CudaProbe.probe();
        assertTrue(a.present() ? a.device() != null && a.devices() > 0 : a.reason() != null && !a.reason().isBlank(), a.toString());
        boolean cuda = a.present() && BackendFactory.cudaBackendUnavailable() == null;
        assertEquals(cuda ? "cuda" : "cpu", BackendFactory.choose("auto", CudaProbe::probe).device());
        if (!cuda) {
            ModelException e = assertThrows(ModelException.class, () -> BackendFactory.choose("cuda", CudaProbe::probe));
            assertTrue(e.getMessage().startsWith("loraxj.device=cuda"), e.getMessage());
        }
    }
}
