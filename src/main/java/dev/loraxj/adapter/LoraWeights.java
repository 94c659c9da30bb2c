package dev.loraxj.adapter;

import dev.loraxj.backend.LoraShape;
import dev.loraxj.backend.LoraUpdate;
import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.SafeTensors;
import dev.loraxj.model.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter's weights, checked against the base model, in no backend's layout: one
 * {@link LoraUpdate} per adapted linear, BF16 files kept BF16, F16 and F32 files as F32 (exact),
 * ready for {@link dev.loraxj.backend.Backend#register}.
 */
public record LoraWeights(List<LoraUpdate> updates, String description) {

    static final Pattern NAME = Pattern.compile(
            "(?:base_model\\.model\\.)?(?:model\\.)?layers\\.(\\d+)\\.(self_attn|mlp)\\.(\\w+)\\.lora_([AB])(?:\\.[\\w-]+)?\\.weight");

    private static final ValueLayout.OfShort BF16_BITS = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public LoraWeights {
        updates = List.copyOf(updates);
    }

    /**
     * An adapter directory parsed and checked, its weights not yet read: the shapes say what a backend
     * will hold before {@link #read()} allocates anything.
     */
    public record Pending(List<LoraShape> shapes, java.util.function.Supplier<LoraWeights> reader) {

        public LoraWeights read() {
            return reader.get();
        }
    }

    /** Parses and checks an adapter directory; the weights load on {@link Pending#read()}. */
    public static Pending check(Path dir, ModelConfig base) {
        LoraConfig config = LoraConfig.load(dir);
        Path st = dir.resolve("adapter_model.safetensors");
        Path bin = dir.resolve("adapter_model.bin");
        if (Files.isRegularFile(st)) {
            SafeTensors file = SafeTensors.open(st);
            try {
                Layout layout = Layout.check(file.tensors(), config, base);
                return layout.pending(() -> {
                    try (file) {
                        return layout.build(file.tensors(), config);
                    }
                });
            } catch (RuntimeException e) {
                file.close();
                throw e;
            }
        }
        if (Files.isRegularFile(bin)) {
            Map<String, Tensor> tensors = TorchCheckpoint.read(bin);
            Layout layout = Layout.check(tensors, config, base);
            return layout.pending(() -> layout.build(tensors, config));
        }
        throw new AdapterException("adapter has neither adapter_model.safetensors nor adapter_model.bin");
    }

    /** Reads and checks an adapter directory at once (tests, benchmarks). */
    public static LoraWeights read(Path dir, ModelConfig base) {
        return check(dir, base).read();
    }

    /** Checks tensors named as PEFT names them (a merge's result) like a file's, and reads them. */
    public static LoraWeights fromTensors(Map<String, Tensor> tensors, LoraConfig config, ModelConfig base) {
        return Layout.check(tensors, config, base).build(tensors, config);
    }

    /** Which tensor holds which module's A and B, after every check against the base model. */
    private record Layout(Map<String, String[]> names, List<LoraShape> shapes, String modules, int maxRank) {

        Pending pending(java.util.function.Supplier<LoraWeights> reader) {
            return new Pending(shapes, reader);
        }

        static Layout check(Map<String, Tensor> tensors, LoraConfig config, ModelConfig base) {
            Map<String, String[]> pairs = new HashMap<>(); // "layer.module" -> {A name, B name}
            Set<String> modules = new LinkedHashSet<>();
            for (String name : tensors.keySet()) {
                Matcher m = NAME.matcher(name);
                if (!m.matches()) {
                    if (name.contains("lora_embedding") || name.contains("embed_tokens") || name.contains("lm_head")) {
                        throw new AdapterException("adapter tensor " + name + " targets the embeddings or the head; only the seven linears of each block are supported");
                    }
                    throw new AdapterException("adapter tensor " + name + " is not a LoRA weight of a Llama block");
                }
                int layer = Integer.parseInt(m.group(1));
                LinearModule module = module(m.group(2) + "." + m.group(3));
                if (layer >= base.numLayers()) {
                    throw new AdapterException("adapter tensor " + name + " is for layer " + layer + " but the base model has " + base.numLayers() + " layers");
                }
                String key = layer + "." + module.name();
                String[] pair = pairs.computeIfAbsent(key, k -> new String[2]);
                pair[m.group(4).equals("A") ? 0 : 1] = name;
                modules.add(module.shortName());
            }
            if (pairs.isEmpty()) {
                throw new AdapterException("adapter holds no LoRA weights");
            }
            for (String target : config.targetList() == null ? List.<String>of() : config.targetList()) {
                String shortName = target.substring(target.lastIndexOf('.') + 1);
                if (LinearModule.byShortName(shortName) == null) {
                    throw new AdapterException("target module " + target + " does not exist in the base model (" + base.modelType()
                            + " has q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");
                }
            }
            List<LoraShape> shapes = new java.util.ArrayList<>();
            int maxRank = 0;
            for (Map.Entry<String, String[]> e : pairs.entrySet()) {
                int dot = e.getKey().indexOf('.');
                int layer = Integer.parseInt(e.getKey().substring(0, dot));
                LinearModule module = LinearModule.valueOf(e.getKey().substring(dot + 1));
                String fullName = "model.layers." + layer + "." + module.path();
                if (e.getValue()[0] == null || e.getValue()[1] == null) {
                    throw new AdapterException("adapter has lora_" + (e.getValue()[0] == null ? "A" : "B") + " missing for " + fullName);
                }
                if (!config.targets(fullName, layer)) {
                    throw new AdapterException("adapter has weights for " + fullName + ", which adapter_config.json does not target (" + config.targetsDescription() + ")");
                }
                int in = module.in(base);
                int out = module.out(base);
                int rank = config.rank(fullName);
                Tensor a = tensors.get(e.getValue()[0]);
                Tensor b = tensors.get(e.getValue()[1]);
                if (a.rank() != 2 || a.dim(0) != rank || a.dim(1) != in) {
                    throw new AdapterException("adapter shape mismatch at " + fullName + ".lora_A: " + a.shapeString()
                            + ", the base model needs [" + rank + ", " + in + "] (an adapter for another base model?)");
                }
                if (b.rank() != 2 || b.dim(0) != out || b.dim(1) != rank) {
                    throw new AdapterException("adapter shape mismatch at " + fullName + ".lora_B: " + b.shapeString()
                            + ", the base model needs [" + out + ", " + rank + "] (an adapter for another base model?)");
                }
                shapes.add(new LoraShape(layer, module, rank, in, out, storage(a, b)));
                maxRank = Math.max(maxRank, rank);
            }
            for (int layer = 0; layer < base.numLayers(); layer++) {
                for (LinearModule module : LinearModule.LORA_TARGETS) {
                    String fullName = "model.layers." + layer + "." + module.path();
                    if (config.targets(fullName, layer) && !pairs.containsKey(layer + "." + module.name())) {
                        throw new AdapterException("adapter_config.json targets " + fullName + " but the adapter has no weights for it");
                    }
                }
            }
            shapes.sort(java.util.Comparator.comparingInt(LoraShape::layer).thenComparing(LoraShape::module));
            return new Layout(pairs, List.copyOf(shapes), String.join(",", modules), maxRank);
        }

        LoraWeights build(Map<String, Tensor> tensors, LoraConfig config) {
            List<LoraUpdate> updates = new java.util.ArrayList<>();
            for (LoraShape shape : shapes) {
                String[] pair = names.get(shape.layer() + "." + shape.module().name());
                String fullName = "model.layers." + shape.layer() + "." + shape.module().path();
                Tensor a = tensors.get(pair[0]);
                Tensor b = tensors.get(pair[1]);
                float scale = (float) config.scale(fullName);
                if (!Float.isFinite(scale)) {
                    throw new AdapterException("adapter scale of " + fullName + " is not a finite float (lora_alpha " + config.alpha() + ")");
                }
                MemorySegment as;
                MemorySegment bs;
                if (shape.dtype() == DType.BF16) {
                    short[] ab = bits(a);
                    short[] bb = bits(b);
                    checkGain(fullName, scale, shape.rank(), shape.in(), maxAbs(ab, pair[0]), maxAbs(bb, pair[1]));
                    as = segment(ab);
                    bs = segment(bb);
                } else {
                    float[] af = a.toFloats();
                    float[] bf = b.toFloats();
                    checkGain(fullName, scale, shape.rank(), shape.in(), maxAbs(af, pair[0]), maxAbs(bf, pair[1]));
                    as = segment(af);
                    bs = segment(bf);
                }
                updates.add(new LoraUpdate(shape, scale, as, bs));
            }
            return new LoraWeights(updates, "lora r=" + maxRank + " " + modules);
        }

        /** The array as a little-endian segment: itself where the platform is little-endian (every one a GPU sits in), else a copy. */
        private static MemorySegment segment(short[] v) {
            if (java.nio.ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
                return MemorySegment.ofArray(v);
            }
            MemorySegment s = MemorySegment.ofArray(new byte[v.length * 2]);
            MemorySegment.copy(v, 0, s, BF16_BITS, 0, v.length);
            return s;
        }

        private static MemorySegment segment(float[] v) {
            if (java.nio.ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
                return MemorySegment.ofArray(v);
            }
            MemorySegment s = MemorySegment.ofArray(new byte[v.length * 4]);
            MemorySegment.copy(v, 0, s, F32, 0, v.length);
            return s;
        }

        /** The largest magnitude; a NaN or infinity would make every logit of the adapter's requests garbage, so it is refused. */
        private static double maxAbs(float[] w, String tensor) {
            double max = 0;
            for (int i = 0; i < w.length; i++) {
                if (!Float.isFinite(w[i])) {
                    throw nonFinite(tensor, i, w[i]);
                }
                max = Math.max(max, Math.abs(w[i]));
            }
            return max;
        }

        private static double maxAbs(short[] bf16, String tensor) {
            double max = 0;
            for (int i = 0; i < bf16.length; i++) {
                float v = Float.intBitsToFloat(bf16[i] << 16);
                if (!Float.isFinite(v)) {
                    throw nonFinite(tensor, i, v);
                }
                max = Math.max(max, Math.abs(v));
            }
            return max;
        }

        private static AdapterException nonFinite(String tensor, int index, float value) {
            return new NonFiniteAdapterException("adapter tensor " + tensor + " holds a non-finite value (" + value + " at flat index "
                    + index + "); such an adapter cannot be served");
        }

        /**
         * The update's largest gain, {@code scale·r·in·max|A|·max|B|}, bounds |Δy| per unit of input:
         * past a float's range the update overflows for ordinary activations, so it is refused here
         * rather than answering NaNs.
         */
        private static void checkGain(String module, float scale, int rank, int in, double maxA, double maxB) {
            double gain = Math.abs((double) scale) * rank * in * maxA * maxB;
            if (!(gain < Float.MAX_VALUE)) {
                throw new NonFiniteAdapterException("adapter update of " + module + " overflows a float: scale " + scale + " x r " + rank
                        + " x in " + in + " x max|lora_A| " + (float) maxA + " x max|lora_B| " + (float) maxB + " = " + gain);
            }
        }

        /** BF16 only when both halves are BF16, so that no weight is ever rounded. */
        private static DType storage(Tensor a, Tensor b) {
            return a.dtype() == DType.BF16 && b.dtype() == DType.BF16 ? DType.BF16 : DType.F32;
        }

        private static short[] bits(Tensor t) {
            short[] out = new short[Math.toIntExact(t.numel())];
            MemorySegment.copy(t.data(), BF16_BITS, 0, out, 0, out.length);
            return out;
        }

        private static LinearModule module(String path) {
            for (LinearModule m : LinearModule.LORA_TARGETS) {
                if (m.path().equals(path)) {
                    return m;
                }
            }
            throw new AdapterException("adapter targets " + path + ", which the base model does not have");
        }
    }
}
