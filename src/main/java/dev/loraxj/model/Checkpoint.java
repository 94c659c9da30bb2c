package dev.loraxj.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The weights of a model directory: {@code model.safetensors}, or the shards that
 * {@code model.safetensors.index.json} names, or else every top-level {@code *.safetensors} file.
 */
public final class Checkpoint implements AutoCloseable {

    private final Path dir;
    private final List<SafeTensors> files;
    private final Map<String, Tensor> tensors;

    private Checkpoint(Path dir, List<SafeTensors> files) {
        this.dir = dir;
        this.files = files;
        Map<String, Tensor> all = new LinkedHashMap<>();
        for (SafeTensors f : files) {
            for (Tensor t : f.tensors().values()) {
                if (all.put(t.name(), t) != null) {
                    throw new ModelException(dir + ": tensor " + t.name() + " appears in more than one shard");
                }
            }
        }
        this.tensors = Collections.unmodifiableMap(all);
    }

    public static Checkpoint open(Path dir) {
        List<Path> paths = shardPaths(dir);
        List<SafeTensors> opened = new ArrayList<>();
        try {
            for (Path p : paths) {
                opened.add(SafeTensors.open(p));
            }
            return new Checkpoint(dir, opened);
        } catch (RuntimeException e) {
            opened.forEach(SafeTensors::close);
            throw e;
        }
    }

    static List<Path> shardPaths(Path dir) {
        Path index = dir.resolve("model.safetensors.index.json");
        Path single = dir.resolve("model.safetensors");
        try {
            if (Files.isRegularFile(index)) {
                JsonNode map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
                if (!map.isObject() || map.isEmpty()) {
                    throw new ModelException(index + " has no weight_map");
                }
                TreeMap<String, Path> shards = new TreeMap<>();
                map.fields().forEachRemaining(e -> {
                    String file = e.getValue().asText();
                    Path shard = dir.resolve(file).normalize();
                    if (!shard.startsWith(dir.normalize())) {
                        throw new ModelException(index + " names a shard outside the model directory: " + file);
                    }
                    shards.put(file, shard);
                });
                for (Path p : shards.values()) {
                    if (!Files.isRegularFile(p)) {
                        throw new ModelException(index + " names shard " + p.getFileName() + ", which is missing");
                    }
                }
                return new ArrayList<>(shards.values());
            }
            if (Files.isRegularFile(single)) {
                return List.of(single);
            }
            if (!Files.isDirectory(dir)) {
                throw new ModelException("model directory " + dir + " does not exist");
            }
            try (Stream<Path> s = Files.list(dir)) {
                List<Path> found = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
                if (found.isEmpty()) {
                    throw new ModelException(dir + " holds no model.safetensors, no index and no *.safetensors files");
                }
                return found;
            }
        } catch (IOException e) {
            throw new ModelException("cannot read " + dir + ": " + e.getMessage(), e);
        }
    }

    public Path dir() {
        return dir;
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }

    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The named tensor, checked against the expected shape. */
    public Tensor tensor(String name, long... expectedShape) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new ModelException(dir + ": missing tensor " + name);
        }
        if (expectedShape.length > 0 && !java.util.Arrays.equals(t.shape(), expectedShape)) {
            throw new ModelException(dir + ": tensor " + name + " has shape " + t.shapeString()
                    + ", expected " + java.util.Arrays.toString(expectedShape));
        }
        return t;
    }

    @Override
    public void close() {
        files.forEach(SafeTensors::close);
    }
}
