package dev.loraxj.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;

/**
 * The packaged PTX (built from src/main/native by build-ptx.sh) loaded with {@code cuModuleLoadData},
 * and one typed launcher per kernel, its arguments in the order of the kernel's signature. Device
 * memory is passed as raw addresses; every launch goes on the driver's compute stream.
 */
final class CudaKernels {

    static final String[] MODULES = {"elementwise", "gemm", "gemv", "sgmv", "attention", "head"};
    static final String PTX_DIR = "/dev/loraxj/backend/cuda/ptx/";

    private final CudaDriver driver;
    private final Map<String, CUfunction> functions = new HashMap<>();
    final String arch;

    CudaKernels(CudaDriver driver) {
        this.driver = driver;
        this.arch = ptxArch(driver.major);
        driver.current();
        for (String m : MODULES) {
            CUmodule module = new CUmodule();
            JCudaDriver.cuModuleLoadData(module, ptx(m, arch));
            for (String f : functionsOf(m)) {
                CUfunction fn = new CUfunction();
                JCudaDriver.cuModuleGetFunction(fn, module, f);
                functions.put(f, fn);
            }
        }
    }

    /** sm_90 PTX on Hopper and later, the portable sm_80 PTX on Ampere; nothing older has bf16 mma. */
    static String ptxArch(int major) {
        if (major < 8) {
            throw new IllegalStateException("the CUDA backend needs compute capability 8.0 or later (bf16 tensor cores), this device has "
                    + major + ".x");
        }
        return major >= 9 && CudaKernels.class.getResource(PTX_DIR + "gemm.sm_90.ptx") != null ? "sm_90" : "sm_80";
    }

    /** The NUL-terminated PTX text of {@code module} for {@code arch}, from the classpath. */
    static byte[] ptx(String module, String arch) {
        String path = PTX_DIR + module + "." + arch + ".ptx";
        try (InputStream in = CudaKernels.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("no PTX at " + path + ": this build ran without nvcc (src/main/native/build-ptx.sh)");
            }
            byte[] text = in.readAllBytes();
            byte[] z = java.util.Arrays.copyOf(text, text.length + 1);
            return z;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + path, e);
        }
    }

    private static String[] functionsOf(String module) {
        return switch (module) {
            case "elementwise" -> new String[] {"embed_gather", "rmsnorm", "residual_add", "silu_mul", "rope", "f32_to_bf16", "fill_random_bf16"};
            case "gemm" -> new String[] {"gemm_bf16"};
            case "gemv" -> new String[] {"gemv_bf16"};
            case "sgmv" -> new String[] {"sgmv_shrink", "sgmv_expand"};
            case "attention" -> new String[] {"kv_store", "paged_attention"};
            case "head" -> new String[] {"gather_rows", "medusa_residual", "argmax_rows"};
            default -> throw new IllegalArgumentException(module);
        };
    }

    private void launch(String kernel, LaunchGrid g, CUstream stream, Object... args) {
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            params[i] = switch (args[i]) {
                case Long l -> Pointer.to(new long[] {l});
                case Integer n -> Pointer.to(new int[] {n});
                case Float f -> Pointer.to(new float[] {f});
                default -> throw new IllegalArgumentException("kernel argument " + args[i]);
            };
        }
        JCudaDriver.cuLaunchKernel(functions.get(kernel), g.x(), g.y(), g.z(), g.threads(), 1, 1, 0, stream, Pointer.to(params), null);
    }

    private void launch(String kernel, LaunchGrid g, Object... args) {
        launch(kernel, g, driver.compute, args);
    }

    /** y[rows, out] (float) = x[rows, in] (bf16) W[out, in]ᵀ (bf16): the tensor-core GEMM, or gemv 8 rows a launch. */
    void linear(long w, long x, long y, int rows, int in, int out) {
        if (LaunchGrid.useGemm(rows, in)) {
            launch("gemm_bf16", LaunchGrid.gemm(rows, out), x, w, y, rows, out, in);
            return;
        }
        LaunchGrid g = LaunchGrid.gemv(out);
        for (int t = 0; t < rows; t += LaunchGrid.GEMV_ROWS) {
            int n = Math.min(LaunchGrid.GEMV_ROWS, rows - t);
            launch("gemv_bf16", g, w, x + 2L * t * in, y + 4L * t * out, in, out, n);
        }
    }

    void embedGather(long table, long tokens, long out, int rows, int hidden) {
        launch("embed_gather", LaunchGrid.rows(rows), table, tokens, out, hidden);
    }

    void rmsnorm(long x, long weight, long out, int rows, int hidden, float eps) {
        launch("rmsnorm", LaunchGrid.rows(rows), x, weight, out, hidden, eps);
    }

    void residualAdd(long x, long y, long n) {
        launch("residual_add", LaunchGrid.elements(n), x, y, n);
    }

    void siluMul(long gateUp, long out, int inter, int rows) {
        launch("silu_mul", LaunchGrid.elements((long) rows * inter), gateUp, out, inter, rows);
    }

    void rope(long q, long k, long positions, long invFreq, int rows, int heads, int kvHeads, int headDim) {
        launch("rope", LaunchGrid.rows(rows), q, k, positions, invFreq, heads, kvHeads, headDim);
    }

    void toBf16(long x, long out, long n) {
        launch("f32_to_bf16", LaunchGrid.elements(n), x, out, n);
    }

    void fillRandom(long out, long n, int seed, float scale, float offset) {
        launch("fill_random_bf16", LaunchGrid.elements(n), out, n, seed, scale, offset);
    }

    void shrink(long x, long s, long starts, long ends, long ranks, long aPtrs, long scales, int in, int stride,
                int segments, long maxPairs) {
        launch("sgmv_shrink", LaunchGrid.shrink(segments, maxPairs), x, s, starts, ends, ranks, aPtrs, scales, in, stride);
    }

    void expand(long s, long y, long starts, long ends, long ranks, long btPtrs, int out, int ldy, int stride,
                int segments, int maxRows) {
        launch("sgmv_expand", LaunchGrid.expand(segments, out, maxRows), s, y, starts, ends, ranks, btPtrs, out, ldy, stride);
    }

    void kvStore(long k, long v, long kCache, long vCache, long tokenSeq, long positions, long tables, int rows,
                 int maxBlocks, int blockSize, int kvDim) {
        launch("kv_store", LaunchGrid.rows(rows), k, v, kCache, vCache, tokenSeq, positions, tables, maxBlocks, blockSize, kvDim);
    }

    void attention(long q, long out, long kCache, long vCache, long tokenSeq, long positions, long tables, int rows,
                   int maxBlocks, int blockSize, int heads, int kvHeads, int headDim, float scale) {
        launch("paged_attention", LaunchGrid.attention(rows, heads, kvHeads, headDim), q, out, kCache, vCache, tokenSeq, positions,
                tables, maxBlocks, blockSize, heads, kvHeads, headDim, scale);
    }

    void gatherRows(long x, long rowIds, long out, int rows, int hidden) {
        launch("gather_rows", LaunchGrid.rows(rows), x, rowIds, out, hidden);
    }

    void medusaResidual(long x, long y, long bias, long h, int hidden, int rows) {
        launch("medusa_residual", LaunchGrid.elements((long) rows * hidden), x, y, bias, h, hidden, rows);
    }
}
