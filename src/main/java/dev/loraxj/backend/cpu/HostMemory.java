package dev.loraxj.backend.cpu;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How much host memory can still be allocated without swapping: Linux's MemAvailable (free plus
 * reclaimable cache), or within a memory-limited container the JDK's figure (the limit less its use).
 */
final class HostMemory {

    private HostMemory() {
    }

    static long available() {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long total = -1;
        long available = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    total = kib(line);
                } else if (line.startsWith("MemAvailable:")) {
                    available = kib(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            return os.getFreeMemorySize(); // not Linux, or /proc hidden: the JDK's figure is the best there is
        }
        boolean limited = total > 0 && os.getTotalMemorySize() < total; // the JDK sees a cgroup limit below the machine's memory
        return limited || available < 0 ? os.getFreeMemorySize() : available;
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
    }
}
