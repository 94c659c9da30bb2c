package dev.loraxj.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Asks the CUDA driver whether a device answers: cuInit, then the first device's name and memory.
 * Four driver calls through the JDK's own foreign-function API, so that a CPU-only server needs no
 * CUDA bindings (JCuda's natives) to learn it has no GPU.
 */
public final class CudaProbe {

    /** What the driver said: a device (name, total memory), or why none answers. */
    public record Answer(boolean present, String device, long totalMemory, int devices, String reason) {

        static Answer none(String reason) {
            return new Answer(false, null, 0, 0, reason);
        }
    }

    private CudaProbe() {
    }

    /** Never throws: every failure is an answer saying why there is no device. */
    public static Answer probe() {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup cuda;
            try {
                cuda = SymbolLookup.libraryLookup(System.mapLibraryName("cuda") + ".1", arena);
            } catch (IllegalArgumentException e) {
                return Answer.none("no CUDA driver is installed (" + System.mapLibraryName("cuda") + ".1 not found)");
            }
            Linker linker = Linker.nativeLinker();
            MethodHandle init = handle(linker, cuda, "cuInit", ValueLayout.JAVA_INT);
            MethodHandle count = handle(linker, cuda, "cuDeviceGetCount", ValueLayout.ADDRESS);
            MethodHandle name = handle(linker, cuda, "cuDeviceGetName", ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
            MethodHandle memory = handle(linker, cuda, "cuDeviceTotalMem_v2", ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
            int rc = (int) init.invokeExact(0);
            if (rc != 0) {
                return Answer.none("the CUDA driver's cuInit failed with error " + rc + (rc == 100 ? " (no CUDA-capable device)" : ""));
            }
            MemorySegment n = arena.allocate(ValueLayout.JAVA_INT);
            rc = (int) count.invokeExact(n);
            int devices = n.get(ValueLayout.JAVA_INT, 0);
            if (rc != 0 || devices < 1) {
                return Answer.none("the CUDA driver reports no device" + (rc != 0 ? " (error " + rc + ")" : ""));
            }
            MemorySegment chars = arena.allocate(256);
            rc = (int) name.invokeExact(chars, 256, 0);
            String device = rc == 0 ? chars.getString(0) : "device 0";
            MemorySegment bytes = arena.allocate(ValueLayout.JAVA_LONG);
            rc = (int) memory.invokeExact(bytes, 0);
            return new Answer(true, device, rc == 0 ? bytes.get(ValueLayout.JAVA_LONG, 0) : 0, devices, null);
        } catch (Throwable t) {
            return Answer.none("the CUDA driver could not be asked: " + t);
        }
    }

    private static MethodHandle handle(Linker linker, SymbolLookup lib, String name, ValueLayout... args) {
        MemorySegment fn = lib.find(name).orElseThrow(() -> new IllegalStateException("the CUDA driver has no " + name));
        return linker.downcallHandle(fn, FunctionDescriptor.of(ValueLayout.JAVA_INT, args));
    }
}
