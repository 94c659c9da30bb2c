package dev.loraxj.adapter;

import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlots;
import dev.loraxj.backend.LinearModule;
import dev.loraxj.backend.LoraShape;
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
import java.util.Arrays;
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
 * {@link TensorMerge}); the result targets the union of the modules with scale 1. Planning reads
 * the parts' headers only, so the store reserves the result's bytes before any of it is built.
 */
public final class AdapterMerger {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private AdapterMerger() {
    }

    /** A part's directory and config, fetched and read; its weights are read when the merge runs. */
    private record Part(AdapterRef ref, Path dir, LoraConfig config) {
    }

    /**
     * Fetches the parts with {@code fetch} and checks their tensors' names and shapes: the pending adapter's
     * footprint is what {@code slots} will hold for the merged adapter, known from the shapes;
     * {@link PendingAdapter#materialize()} merges and registers the result.
     */
    public static PendingAdapter pending(MergeSpec spec, Function<AdapterRef, Path> fetch, ModelConfig base, AdapterSlots slots) {
        List<Part> parts = new ArrayList<>();
        Map<String, long[]> shapes = new TreeMap<>(); // the merged tensors, by PEFT name
        for (AdapterRef ref : spec.adapters()) {
            Path dir = fetch.apply(ref);
            LoraConfig config = LoraConfig.load(dir);
            for (Map.Entry<String, long[]> t : shapes(dir).entrySet()) {
                String name = mergedName(ref, t.getKey());
                long[] had = shapes.putIfAbsent(name, t.getValue());
                if (had != null && !Arrays.equals(had, t.getValue())) {
                    throw new AdapterRequestException("cannot merge adapters of different ranks: " + name + " is "
                            + Arrays.toString(had) + " in one and " + Arrays.toString(t.getValue()) + " in " + ref.id());
                }
            }
            parts.add(new Part(ref, dir, config));
        }
        int rank = rank(shapes);
        if (shapes.isEmpty()) {
            throw new AdapterException("the merged adapters hold no LoRA weights");
        }
        // the union of the parts' targets, exactly: parts may adapt different layers
        Set<String> targets = new TreeSet<>();
        for (String name : shapes.keySet()) {
            targets.add(java.util.regex.Pattern.quote(name.substring("base_model.model.".length(), name.lastIndexOf(".lora_"))));
        }
        LoraConfig config = new LoraConfig(rank, rank, false, false, null,
                java.util.regex.Pattern.compile(String.join("|", targets)), Map.of(), Map.of(), null, "merge");
        AdapterFootprint footprint = slots.footprint(loraShapes(shapes));
        return new PendingAdapter() {
            @Override
            public AdapterFootprint footprint() {
                return footprint;
            }

            @Override
            public LoadedAdapter materialize() {
                return LoadedAdapter.of(merge(spec, parts, shapes, config, base), null, Optional.empty(), slots);
            }
        };
    }

    /** The rank every merged tensor shares; a merge of different ranks is refused. */
    private static int rank(Map<String, long[]> shapes) {
        int rank = -1;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            int r = (int) (e.getKey().contains("lora_A") ? e.getValue()[0] : e.getValue()[1]);
            if (rank >= 0 && r != rank) {
                throw new AdapterRequestException("cannot merge adapters of different ranks (" + rank + " and " + r + ")");
            }
            rank = r;
        }
        return rank;
    }

    /** The merged updates' shapes, F32 as merged tensors are: lora_A is [rank, in], lora_B [out, rank]. */
    private static List<LoraShape> loraShapes(Map<String, long[]> shapes) {
        List<LoraShape> out = new ArrayList<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            Matcher m = LoraWeights.NAME.matcher(e.getKey());
            long[] a = e.getValue();
            long[] b = shapes.get(e.getKey().substring(0, e.getKey().length() - "A.weight".length()) + "B.weight");
            // a missing lora_B, an unknown module or a wrong shape is refused when the merged weights are checked
            if (!e.getKey().endsWith(".lora_A.weight") || !m.matches() || b == null || a.length != 2 || b.length != 2
                    || a[0] <= 0 || a[1] <= 0 || b[0] <= 0) {
                continue;
            }
            String path = m.group(2) + "." + m.group(3);
            LinearModule.LORA_TARGETS.stream().filter(l -> l.path().equals(path)).findFirst().ifPresent(module ->
                    out.add(new LoraShape(Integer.parseInt(m.group(1)), module, (int) a[0], (int) a[1], (int) b[0], DType.F32)));
        }
        return out;
    }

    private static LoraWeights merge(MergeSpec spec, List<Part> parts, Map<String, long[]> shapes, LoraConfig config,
                                     ModelConfig base) {
        List<Map<String, float[]>> scaled = new ArrayList<>();
        for (Part p : parts) {
            scaled.add(scaled(p, shapes));
        }
        SplittableRandom random = new SplittableRandom(spec.seed());
        Map<String, Tensor> merged = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            List<float[]> present = new ArrayList<>();
            List<Float> weights = new ArrayList<>();
            for (int i = 0; i < scaled.size(); i++) {
                float[] t = scaled.get(i).get(e.getKey());
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
        }
        LoraWeights weights;
        try {
            weights = LoraWeights.fromTensors(merged, config, base);
        } catch (NonFiniteAdapterException e) {
            throw new AdapterRequestException("`merged_adapters.weights` make the merged adapter non-finite: " + e.getMessage());
        }
        return weights;
    }

    /** A part's tensors by merged name, lora_B times the part's scale; each checked finite. */
    private static Map<String, float[]> scaled(Part part, Map<String, long[]> shapes) {
        AdapterRef ref = part.ref();
        Map<String, float[]> scaled = new LinkedHashMap<>();
        for (Tensor t : tensors(part.dir()).values()) {
            String name = mergedName(ref, t.name());
            if (!Arrays.equals(shapes.get(name), t.shape())) {
                throw new AdapterException("adapter " + ref.id() + " changed while the merge waited to load: tensor " + t.name()
                        + " is " + t.shapeString() + " now");
            }
            Matcher m = lora(ref, t.name());
            float[] values = t.toFloats();
            if (firstNonFinite(values) >= 0) {
                throw new AdapterException("adapter " + ref.id() + ": tensor " + t.name()
                        + " holds a non-finite value (NaN or infinity); such an adapter cannot be served");
            }
            if (m.group(4).equals("B")) {
                float scale = (float) part.config().scale("model.layers." + m.group(1) + "." + m.group(2) + "." + m.group(3));
                for (int i = 0; i < values.length; i++) {
                    values[i] *= scale;
                }
                if (firstNonFinite(values) >= 0) {
                    throw new AdapterException("adapter " + ref.id() + ": tensor " + t.name() + " times its scale " + scale
                            + " (lora_alpha / r) overflows a float; such an adapter cannot be served");
                }
            }
            scaled.put(name, values);
        }
        return scaled;
    }

    private static Matcher lora(AdapterRef ref, String tensor) {
        Matcher m = LoraWeights.NAME.matcher(tensor);
        if (!m.matches()) {
            throw new AdapterException("adapter " + ref.id() + ": tensor " + tensor + " is not a LoRA weight of a Llama block");
        }
        return m;
    }

    /** The PEFT name a part's tensor is merged under, whatever prefix its file uses. */
    private static String mergedName(AdapterRef ref, String tensor) {
        Matcher m = lora(ref, tensor);
        return "base_model.model.model.layers." + m.group(1) + "." + m.group(2) + "." + m.group(3) + ".lora_" + m.group(4) + ".weight";
    }

    private static int firstNonFinite(float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                return i;
            }
        }
        return -1;
    }

    /** The tensors' shapes by name, from the safetensors header (a torch checkpoint has no header apart from its data). */
    private static Map<String, long[]> shapes(Path dir) {
        Path st = dir.resolve("adapter_model.safetensors");
        if (Files.isRegularFile(st)) {
            try (SafeTensors f = SafeTensors.open(st)) {
                Map<String, long[]> shapes = new LinkedHashMap<>();
                f.tensors().values().forEach(t -> shapes.put(t.name(), t.shape()));
                return shapes;
            }
        }
        Map<String, long[]> shapes = new LinkedHashMap<>();
        tensors(dir).values().forEach(t -> shapes.put(t.name(), t.shape()));
        return shapes;
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
