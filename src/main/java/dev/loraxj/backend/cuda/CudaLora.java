package dev.loraxj.backend.cuda;

import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.LinearModule;
import dev.loraxj.backend.LoraShape;
import dev.loraxj.backend.LoraUpdate;
import dev.loraxj.model.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

/**
 * An adapter registered with the CUDA backend, in two tiers: its matrices packed as bf16
 * ({@link SlotLayout}) in page-locked host memory, and the same bytes in one device allocation,
 * copied on the upload stream so that the copy overlaps the forward running on the compute stream.
 */
final class CudaLora extends AdapterSlot implements SgmvPlan.Adapter {

    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final SlotLayout layout;
    private final float[] scales;
    private final CudaDriver driver;
    private final CudaDriver.DeviceBuffer device;
    private final CudaDriver.HostBuffer host;

    private CudaLora(SlotLayout layout, float[] scales, CudaDriver driver, CudaDriver.DeviceBuffer device, CudaDriver.HostBuffer host) {
        super(new AdapterFootprint(layout.bytes(), layout.bytes())); // as SlotLayout.footprint: sections aligned one by one
        this.layout = layout;
        this.scales = scales;
        this.driver = driver;
        this.device = device;
        this.host = host;
    }

    /** Packs {@code updates} into pinned memory, uploads them on the upload stream, and waits for that copy only. */
    static CudaLora upload(List<LoraUpdate> updates, int numLayers, CudaDriver driver) {
        List<LoraShape> shapes = updates.stream().map(LoraUpdate::shape).toList();
        SlotLayout layout = SlotLayout.of(shapes, numLayers);
        float[] scales = new float[numLayers * LinearModule.values().length];
        CudaDriver.HostBuffer host = driver.pinned(layout.bytes());
        CudaDriver.DeviceBuffer device = null;
        try {
            for (LoraUpdate u : updates) {
                LoraShape s = u.shape();
                scales[s.layer() * LinearModule.values().length + s.module().ordinal()] = u.scale();
                pack(u, host.segment(), layout.aOffset(s.layer(), s.module()), layout.btOffset(s.layer(), s.module()));
            }
            device = driver.alloc(layout.bytes());
            driver.copyIn(device, 0, host, layout.bytes(), driver.upload);
            driver.sync(driver.upload);
            return new CudaLora(layout, scales, driver, device, host);
        } catch (RuntimeException e) {
            driver.free(device);
            driver.free(host);
            throw e;
        }
    }

    /** A as it is and B transposed to Bᵀ [rank, out], both bf16 (F32 rounded to nearest even). */
    static void pack(LoraUpdate u, MemorySegment dst, long aOffset, long btOffset) {
        LoraShape s = u.shape();
        boolean bf16 = s.dtype() == DType.BF16;
        long aCount = (long) s.rank() * s.in();
        if (bf16) {
            MemorySegment.copy(u.a(), 0, dst, aOffset, 2 * aCount);
        } else {
            for (long i = 0; i < aCount; i++) {
                dst.set(BF16, aOffset + 2 * i, DType.floatToBf16(u.a().get(F32, 4 * i)));
            }
        }
        for (int o = 0; o < s.out(); o++) {
            for (int r = 0; r < s.rank(); r++) {
                long from = (long) o * s.rank() + r;
                short v = bf16 ? u.b().get(BF16, 2 * from) : DType.floatToBf16(u.b().get(F32, 4 * from));
                dst.set(BF16, btOffset + 2 * ((long) r * s.out() + o), v);
            }
        }
    }

    private void live() {
        if (released()) {
            throw new IllegalStateException(this + " was released but is still in a batch");
        }
    }

    @Override
    public int rank(int layer, LinearModule m) {
        live();
        return layout.rank(layer, m);
    }

    @Override
    public float scale(int layer, LinearModule m) {
        return scales[layer * LinearModule.values().length + m.ordinal()];
    }

    @Override
    public long a(int layer, LinearModule m) {
        return device.address() + layout.aOffset(layer, m);
    }

    @Override
    public long bt(int layer, LinearModule m) {
        return device.address() + layout.btOffset(layer, m);
    }

    /** Seconds to copy the pinned copy to the device slot again (what a cold upload costs once packed). */
    double recopySeconds() {
        driver.current();
        long start = System.nanoTime();
        driver.copyIn(device, 0, host, layout.bytes(), driver.upload);
        driver.sync(driver.upload);
        return (System.nanoTime() - start) / 1e9;
    }

    /** The driver this slot's memory belongs to. */
    CudaDriver driver() {
        return driver;
    }

    void release() {
        if (markReleased()) {
            driver.free(device);
            driver.free(host);
        }
    }
}
