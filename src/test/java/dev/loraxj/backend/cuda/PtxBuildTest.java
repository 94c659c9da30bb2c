package dev.loraxj.backend.cuda;

import org.jboss.logging.Logger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The build's PTX: every kernel of src/main/native is in the packaged PTX for sm_90 and sm_80, and ptxas
 * reports no register spills in any of them. Where nvcc is not on the PATH the build made no PTX, and
 * this skips, saying so.
 */
class PtxBuildTest {

    private static final Logger LOG = Logger.getLogger(PtxBuildTest.class);
    private static final Path NATIVE = Path.of("src/main/native");
    private static final Path REPORTS = Path.of(System.getProperty("buildDir", "target"), "ptxas");
    private static final Pattern KERNEL = Pattern.compile("__global__\\s+void\\s+(?:__launch_bounds__\\([^)]*\\)\\s+)?(\\w+)\\s*\\(");
    private static final Pattern SPILLS = Pattern.compile("Function properties for (\\w+)\\s*\\n\\s*\\d+ bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");

    @BeforeAll
    static void needsNvcc() {
        boolean nvcc = Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, "nvcc")));
        if (!nvcc) {
            LOG.warn("nvcc is not on the PATH: the build made no PTX, so the PTX checks are skipped");
        }
        Assumptions.assumeTrue(nvcc, "nvcc is not on the PATH: the build made no PTX");
    }

    static List<Path> sources() throws IOException {
        try (Stream<Path> s = Files.list(NATIVE)) {
            return s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
    }

    static List<String> kernels(Path cu) throws IOException {
        List<String> names = new ArrayList<>();
        Matcher m = KERNEL.matcher(Files.readString(cu));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    static String name(Path cu) {
        String f = cu.getFileName().toString();
        return f.substring(0, f.length() - ".cu".length());
    }

    @Test
    void everyKernelIsInThePackagedPtxForBothArchitectures() throws IOException {
        List<Path> sources = sources();
        assertFalse(sources.isEmpty(), "kernels in " + NATIVE.toAbsolutePath());
        for (Path cu : sources) {
            List<String> kernels = kernels(cu);
            assertFalse(kernels.isEmpty(), cu + " has kernels");
            for (String arch : new String[] {"sm_90", "sm_80"}) {
                String resource = "/dev/loraxj/backend/cuda/ptx/" + name(cu) + "." + arch + ".ptx";
                try (InputStream in = PtxBuildTest.class.getResourceAsStream(resource)) {
                    assertTrue(in != null, resource + " is on the classpath");
                    String ptx = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                    assertTrue(ptx.contains(".target " + arch), resource + " targets " + arch);
                    for (String k : kernels) {
                        assertTrue(ptx.contains(".entry " + k + "("), resource + " has the kernel " + k);
                    }
                }
            }
        }
    }

    @Test
    void ptxasReportsNoSpillsInAnyKernel() throws IOException {
        for (Path cu : sources()) {
            Path report = REPORTS.resolve(name(cu) + ".sm_90.txt");
            assertTrue(Files.isRegularFile(report), "ptxas -v report " + report.toAbsolutePath());
            String text = Files.readString(report);
            List<String> kernels = kernels(cu);
            int seen = 0;
            Matcher m = SPILLS.matcher(text);
            while (m.find()) {
                if (kernels.contains(m.group(1))) {
                    seen++;
                }
                assertEquals("0 0", m.group(2) + " " + m.group(3), m.group(1) + " spills (stores, loads) in " + report);
            }
            assertEquals(kernels.size(), seen, "ptxas reported every kernel of " + cu + ":\n" + text);
        }
    }
}
