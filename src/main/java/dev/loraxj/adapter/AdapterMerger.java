package dev.loraxj.adapter;

import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.SafeTensors;
import dev.loraxj.model.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;

/**
 * Builds a merged adapter from its parts: each adapter's own scale is folded into its lora_B, then
 * every lora_A and every lora_B tensor is merged separately (LoRAX's algorithm, see
 * {@link TensorMerge}); the result targets the union of the modules with scale 1.
 */
public final class AdapterMerger {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private AdapterMerger() {
    }

    /** Fetches the parts with {@code fetch}, merges them, and plans the result for the store. */
    public static AdapterPlan plan(MergeSpec spec, Function<AdapterRef, Path> fetch, ModelConfig base) {
        List<Map<String, float[]>> parts = new ArrayList<>();
        Map<String, long[]> shapes = new TreeMap<>();
        for (AdapterRef ref : spec.adapters()) {
            Path dir = fetch.apply(ref);
            LoraConfig config = LoraConfig.load(dir);
            Map<String, float[]> scaled = new LinkedHashMap<>();
            for (Tensor t : tensors(dir).values()) {
                Matcher m = LoraWeights.NAME.matcher(t.name());
                if (!m.matches()) {
                    throw new AdapterException("adapter " + ref.id() + ": tensor " + t.name() + " is not a LoRA weight of a Llama block");
                }
                String module = m.group(2) + "." + m.group(3);
                String name = "base_model.model.model.layers." + m.group(1) + "." + module + ".lora_" + m.group(4) + ".weight";
                float[] values = t.toFloats();
                if (firstNonFinite(values) >= 0) {
                    throw new AdapterException("adapter " + ref.id() + ": tensor " + t.name()
                            + " holds a non-finite value (NaN or infinity); such an adapter cannot be served");
                }
                if (m.group(4).equals("B")) {
                    float scale = (float) config.scale("model.layers." + m.group(1) + "." + module);
                    for (int i = 0; i < values.length; i++) {
                        values[i] *= scale;
                    }
                    if (firstNonFinite(values) >= 0) {
                        throw new AdapterException("adapter " + ref.id() + ": tensor " + t.name() + " times its scale " + scale
                                + " (lora_alpha / r) overflows a float; such an adapter cannot be served");
                    }
                }
                long[] had = shapes.putIfAbsent(name, t.shape());
                if (had != null && !java.util.Arrays.equals(had, t.shape())) {
                    throw new AdapterRequestException("cannot merge adapters of different ranks: " + name + " is "
                            + java.util.Arrays.toString(had) + " in one and " + t.shapeString() + " in " + ref.id());
                }
                scaled.put(name, values);
            }
            parts.add(scaled);
        }
        SplittableRandom random = new SplittableRandom(spec.seed());
        Map<String, Tensor> merged = new LinkedHashMap<>();
        int rank = -1;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            List<float[]> present = new ArrayList<>();
            List<Float> weights = new ArrayList<>();
            for (int i = 0; i < parts.size(); i++) {
                float[] t = parts.get(i).get(e.getKey());
                if (t != null) {
                    present.add(t);
                    weights.add(spec.weights().get(i));
                }
            }
            float[] w = new float[weights.size()];
            for (int i = 0; i < w.length; i++) {
                w[i] = weights.get(i);
            }
            float[] out = TensorMerge.merge(present, w, spec.strategy(), spec.density(), spec.signMethod(), random);
            if (firstNonFinite(out) >= 0) {
                throw new AdapterRequestException("`merged_adapters.weights` make " + e.getKey()
                        + " non-finite (it overflows a float); use smaller weights");
            }
            MemorySegment seg = MemorySegment.ofArray(new byte[out.length * 4]);
            MemorySegment.copy(out, 0, seg, F32, 0, out.length);
            merged.put(e.getKey(), new Tensor(e.getKey(), DType.F32, e.getValue(), seg));
            int r = (int) (e.getKey().contains("lora_A") ? e.getValue()[0] : e.getValue()[1]);
            if (rank >= 0 && r != rank) {
                throw new AdapterRequestException("cannot merge adapters of different ranks (" + rank + " and " + r + ")");
            }
            rank = r;
        }
        if (merged.isEmpty()) {
            throw new AdapterException("the merged adapters hold no LoRA weights");
        }
        // the union of the parts' targets, exactly: parts may adapt different layers
        Set<String> targets = new TreeSet<>();
        for (String name : merged.keySet()) {
            targets.add(java.util.regex.Pattern.quote(name.substring("base_model.model.".length(), name.lastIndexOf(".lora_"))));
        }
        LoraConfig config = new LoraConfig(rank, rank, false, false, null,
                java.util.regex.Pattern.compile(String.join("|", targets)), Map.of(), Map.of(), null, "merge");
        LoraWeights weights;
        try {
            weights = LoraWeights.fromTensors(merged, config, base);
        } catch (NonFiniteAdapterException e) {
            throw new AdapterRequestException("`merged_adapters.weights` make the merged adapter non-finite: " + e.getMessage());
        }
        LoadedAdapter result = new ServedAdapter(weights, null, Optional.empty());
        return new AdapterPlan() {
            @Override
            public long bytes() {
                return result.bytes();
            }

            @Override
            public LoadedAdapter materialize() {
                return result;
            }
        };
    }

    private static int firstNonFinite(float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                return i;
            }
        }
        return -1;
    }

    private static Map<String, Tensor> tensors(Path dir) {
        Path st = dir.resolve("adapter_model.safetensors");
        if (Files.isRegularFile(st)) {
            try (SafeTensors f = SafeTensors.open(st)) {
                Map<String, Tensor> copy = new LinkedHashMap<>();
                for (Tensor t : f.tensors().values()) {
                    float[] v = t.toFloats();
                    MemorySegment seg = MemorySegment.ofArray(new byte[v.length * 4]);
                    MemorySegment.copy(v, 0, seg, F32, 0, v.length);
                    copy.put(t.name(), new Tensor(t.name(), DType.F32, t.shape(), seg));
                }
                return copy;
            }
        }
        Path bin = dir.resolve("adapter_model.bin");
        if (Files.isRegularFile(bin)) {
            return TorchCheckpoint.read(bin);
        }
        throw new AdapterException("adapter has neither adapter_model.safetensors nor adapter_model.bin");
    }
}
