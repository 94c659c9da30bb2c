package dev.loraxj.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * One CUDA device through JCuda's driver-API binding (which needs only {@code libcuda.so.1}): its
 * primary context, a compute stream and an upload stream (both non-blocking, so adapter uploads
 * overlap the forward), and memory. Every call makes the context current first, because the engine
 * thread and the adapter loaders' threads all reach the device.
 */
final class CudaDriver implements AutoCloseable {

    private static final int NON_BLOCKING = 1; // CU_STREAM_NON_BLOCKING: no implicit sync with the legacy default stream

    /** Device memory with its raw address (what kernels and pointer tables take). */
    record DeviceBuffer(CUdeviceptr ptr, long address, long bytes) {

        CUdeviceptr at(long offset) {
            return offset == 0 ? ptr : ptr.withByteOffset(offset);
        }
    }

    /** Page-locked host memory: what async copies read, seen from Java as a little-endian segment. */
    record HostBuffer(Pointer ptr, MemorySegment segment, long bytes) {
    }

    final CUdevice device = new CUdevice();
    final CUcontext context = new CUcontext();
    final CUstream compute = new CUstream();
    final CUstream upload = new CUstream();
    final String name;
    final int major;
    final int minor;
    final long totalMemory;
    /** HBM bandwidth the driver's attributes give, bytes per second (2 transfers per clock, DDR). */
    final double peakBandwidth;

    private CudaDriver(int ordinal) {
        JCudaDriver.setExceptionsEnabled(true);
        JCudaDriver.cuInit(0);
        JCudaDriver.cuDeviceGet(device, ordinal);
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        JCudaDriver.cuCtxSetCurrent(context);
        byte[] chars = new byte[256];
        JCudaDriver.cuDeviceGetName(chars, chars.length, device);
        int len = 0;
        while (len < chars.length && chars[len] != 0) {
            len++;
        }
        name = new String(chars, 0, len, java.nio.charset.StandardCharsets.US_ASCII);
        major = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        minor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        long[] total = new long[1];
        JCudaDriver.cuDeviceTotalMem(total, device);
        totalMemory = total[0];
        peakBandwidth = peakBandwidth();
        JCudaDriver.cuStreamCreate(compute, NON_BLOCKING);
        JCudaDriver.cuStreamCreate(upload, NON_BLOCKING);
    }

    /**
     * Why the JCuda backend cannot run here, or null when its binding loads and a device answers:
     * without {@code libcuda.so.1} JCuda's native library fails to link with a catchable error. Asked
     * once per process (a class whose natives failed answers differently the second time).
     */
    static String unavailable() {
        return Availability.REASON;
    }

    private static final class Availability {
        static final String REASON = check();

        private static String check() {
            try {
                JCudaDriver.setExceptionsEnabled(true);
                JCudaDriver.cuInit(0);
                int[] count = new int[1];
                JCudaDriver.cuDeviceGetCount(count);
                return count[0] > 0 ? null : "the CUDA driver reports no device";
            } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
                return "JCuda's driver binding does not load (" + firstLine(e.getMessage()) + ")";
            } catch (RuntimeException e) { // jcuda.CudaException: the driver answered with an error
                return "the CUDA driver failed: " + firstLine(e.getMessage());
            }
        }

        private static String firstLine(String s) {
            if (s == null) {
                return "no message";
            }
            int nl = s.indexOf('\n');
            return (nl < 0 ? s : s.substring(0, nl)).strip();
        }
    }

    /** Device {@code ordinal}'s primary context and two streams; throws when JCuda or the driver cannot. */
    static CudaDriver open(int ordinal) {
        return new CudaDriver(ordinal);
    }

    /** From the memory clock (kHz) and bus width (bits); 0 where the driver no longer reports them (an informational figure). */
    private double peakBandwidth() {
        try {
            double clockHz = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE) * 1000.0;
            return 2 * clockHz * attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH) / 8.0;
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private int attribute(int which) {
        int[] v = new int[1];
        JCudaDriver.cuDeviceGetAttribute(v, which, device);
        return v[0];
    }

    /** Makes the context current on the calling thread. */
    void current() {
        JCudaDriver.cuCtxSetCurrent(context);
    }

    /** A device pointer that tells its raw address (JCuda keeps it in a protected field). */
    private static final class AddressedPointer extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    DeviceBuffer alloc(long bytes) {
        current();
        AddressedPointer p = new AddressedPointer();
        JCudaDriver.cuMemAlloc(p, Math.max(bytes, 1));
        return new DeviceBuffer(p, p.address(), bytes);
    }

    void free(DeviceBuffer b) {
        if (b != null) {
            current();
            JCudaDriver.cuMemFree(b.ptr());
        }
    }

    HostBuffer pinned(long bytes) {
        current();
        Pointer p = new Pointer();
        JCudaDriver.cuMemAllocHost(p, Math.max(bytes, 1));
        MemorySegment seg = MemorySegment.ofBuffer(p.getByteBuffer(0, Math.max(bytes, 1)).order(ByteOrder.LITTLE_ENDIAN));
        return new HostBuffer(p, seg, bytes);
    }

    void free(HostBuffer b) {
        if (b != null) {
            current();
            JCudaDriver.cuMemFreeHost(b.ptr());
        }
    }

    /** Bytes of device memory free now. */
    long freeMemory() {
        current();
        long[] free = new long[1];
        long[] total = new long[1];
        JCudaDriver.cuMemGetInfo(free, total);
        return free[0];
    }

    /** Host to device, synchronous (weights at load; nothing else runs then). */
    void copyIn(DeviceBuffer dst, long offset, Pointer src, long bytes) {
        JCudaDriver.cuMemcpyHtoD(dst.at(offset), src, bytes);
    }

    /** Host (pinned) to device on {@code stream}: ordered with that stream's kernels. */
    void copyIn(DeviceBuffer dst, long offset, HostBuffer src, long bytes, CUstream stream) {
        JCudaDriver.cuMemcpyHtoDAsync(dst.at(offset), src.ptr(), bytes, stream);
    }

    /** Device to host once the compute stream has drained. */
    void copyOut(Pointer dst, DeviceBuffer src, long offset, long bytes) {
        JCudaDriver.cuStreamSynchronize(compute);
        JCudaDriver.cuMemcpyDtoH(dst, src.at(offset), bytes);
    }

    /** Bytes moved per second (read + write) by device-to-device copies of {@code bytes}: the HBM roofline measured. */
    double copyBandwidth(long bytes) {
        DeviceBuffer a = alloc(bytes);
        DeviceBuffer b = alloc(bytes);
        try {
            JCudaDriver.cuMemcpyDtoD(b.ptr(), a.ptr(), bytes);
            JCudaDriver.cuCtxSynchronize();
            int n = 10;
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                JCudaDriver.cuMemcpyDtoD(b.ptr(), a.ptr(), bytes);
            }
            JCudaDriver.cuCtxSynchronize();
            return 2.0 * bytes * n / ((System.nanoTime() - start) / 1e9);
        } finally {
            free(a);
            free(b);
        }
    }

    /** Zeroes {@code b} and waits: a memset on the legacy stream is not ordered with the non-blocking compute stream. */
    void zero(DeviceBuffer b) {
        current();
        JCudaDriver.cuMemsetD8(b.ptr(), (byte) 0, b.bytes());
        JCudaDriver.cuCtxSynchronize();
    }

    void sync(CUstream stream) {
        JCudaDriver.cuStreamSynchronize(stream);
    }

    @Override
    public void close() {
        current();
        JCudaDriver.cuCtxSynchronize();
        JCudaDriver.cuStreamDestroy(compute);
        JCudaDriver.cuStreamDestroy(upload);
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
