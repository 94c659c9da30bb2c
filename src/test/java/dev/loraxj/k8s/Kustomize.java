package dev.loraxj.k8s;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The part of Kustomize these manifests use (resources, labels, strategic-merge patches), so the
 * tests render the overlays without a kustomize binary. Any other field fails instead of being ignored.
 */
final class Kustomize {

    static final YAMLMapper YAML = YAMLMapper.builder().build();
    private static final Set<String> FIELDS = Set.of("apiVersion", "kind", "resources", "labels", "patches");
    private static final Set<String> LABEL_FIELDS = Set.of("pairs", "includeTemplates", "includeSelectors");
    private static final Set<String> PATCH_FIELDS = Set.of("path", "target");
    private static final Set<String> TARGET_FIELDS = Set.of("kind", "name");

    private Kustomize() {
    }

    /** The resources of the kustomization in {@code dir}, in order, after its transformations. */
    static List<ObjectNode> render(Path dir) {
        JsonNode k = kustomization(dir.resolve("kustomization.yaml"));
        List<ObjectNode> out = new ArrayList<>();
        for (JsonNode entry : k.path("resources")) {
            Path p = dir.resolve(entry.asString()).normalize();
            out.addAll(Files.isDirectory(p) ? render(p) : documents(p));
        }
        Set<String> ids = new HashSet<>();
        for (ObjectNode r : out) {
            if (!ids.add(id(r))) {
                throw new IllegalArgumentException(dir + ": resource " + id(r) + " appears twice");
            }
        }
        // Kustomize runs patches before labels, whatever the order in the file.
        for (JsonNode p : k.path("patches")) {
            patch(out, dir, p);
        }
        for (JsonNode l : k.path("labels")) {
            label(out, l);
        }
        return out;
    }

    /** A kustomization.yaml, checked for fields this renderer does not implement. */
    static JsonNode kustomization(Path file) {
        List<ObjectNode> docs = documents(file);
        if (docs.size() != 1) {
            throw new IllegalArgumentException(file + ": expected one document");
        }
        JsonNode k = docs.getFirst();
        strict(file, k, FIELDS);
        require(file, k.path("apiVersion").asString().equals("kustomize.config.k8s.io/v1beta1"), "apiVersion kustomize.config.k8s.io/v1beta1");
        require(file, k.path("kind").asString().equals("Kustomization"), "kind Kustomization");
        for (JsonNode l : k.path("labels")) {
            strict(file, l, LABEL_FIELDS);
            require(file, !l.path("includeSelectors").asBoolean(false), "labels without includeSelectors (selectors are spelt out)");
        }
        for (JsonNode p : k.path("patches")) {
            strict(file, p, PATCH_FIELDS);
            require(file, p.has("path"), "patches given by path");
            if (p.has("target")) {
                strict(file, p.get("target"), TARGET_FIELDS);
            }
        }
        return k;
    }

    /** Every non-empty YAML document in a file. */
    static List<ObjectNode> documents(Path file) {
        try {
            List<ObjectNode> out = new ArrayList<>();
            for (JsonNode doc : YAML.readerFor(JsonNode.class).<JsonNode>readValues(Files.readString(file)).readAll()) {
                if (doc == null || doc.isNull() || doc.isMissingNode()) {
                    continue;
                }
                if (!doc.isObject()) {
                    throw new IllegalArgumentException(file + ": a document is not a mapping");
                }
                out.add((ObjectNode) doc);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file, e);
        }
    }

    static String id(JsonNode r) {
        return r.path("kind").asString() + "/" + r.path("metadata").path("name").asString();
    }

    private static void patch(List<ObjectNode> resources, Path dir, JsonNode spec) {
        Path file = dir.resolve(spec.get("path").asString());
        for (ObjectNode patch : documents(file)) {
            JsonNode target = spec.path("target");
            String kind = target.has("kind") ? target.get("kind").asString() : patch.path("kind").asString();
            String name = target.has("name") ? target.get("name").asString() : patch.path("metadata").path("name").asString();
            int hits = 0;
            for (int i = 0; i < resources.size(); i++) {
                ObjectNode r = resources.get(i);
                if (r.path("kind").asString().equals(kind) && r.path("metadata").path("name").asString().equals(name)) {
                    resources.set(i, (ObjectNode) StrategicMerge.apply(r, patch));
                    hits++;
                }
            }
            if (hits != 1) {
                throw new IllegalArgumentException(file + ": patch matches " + hits + " resources named " + kind + "/" + name);
            }
        }
    }

    private static void label(List<ObjectNode> resources, JsonNode spec) {
        boolean templates = spec.path("includeTemplates").asBoolean(false);
        for (ObjectNode r : resources) {
            addLabels(r, spec.get("pairs"));
            JsonNode template = r.path("spec").path("template");
            if (templates && template.isObject()) {
                addLabels((ObjectNode) template, spec.get("pairs"));
            }
        }
    }

    private static void addLabels(ObjectNode owner, JsonNode pairs) {
        ObjectNode metadata = owner.has("metadata") ? (ObjectNode) owner.get("metadata") : owner.putObject("metadata");
        ObjectNode labels = metadata.has("labels") ? (ObjectNode) metadata.get("labels") : metadata.putObject("labels");
        for (Map.Entry<String, JsonNode> e : pairs.properties()) {
            labels.put(e.getKey(), e.getValue().asString());
        }
    }

    private static void strict(Path file, JsonNode node, Set<String> allowed) {
        for (String name : node.propertyNames()) {
            if (!allowed.contains(name)) {
                throw new IllegalArgumentException(file + ": field '" + name + "' is not implemented by the test renderer");
            }
        }
    }

    private static void require(Path file, boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException(file + ": expected " + what);
        }
    }
}
