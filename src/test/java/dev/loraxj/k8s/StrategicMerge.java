package dev.loraxj.k8s;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Kubernetes strategic-merge patch, for the lists these manifests patch: maps merge, null deletes,
 * keyed lists merge item by item, the rest replace. A list with no rule here fails rather than guess.
 */
final class StrategicMerge {

    /** patchMergeKey of the core API's lists, by field name. */
    static final Map<String, String> MERGE_KEYS = Map.of(
            "containers", "name",
            "initContainers", "name",
            "env", "name",
            "volumes", "name",
            "volumeMounts", "mountPath",
            "imagePullSecrets", "name");

    /** Lists without a patchMergeKey in the core API: a patch replaces them whole. */
    static final Set<String> REPLACED_LISTS = Set.of("tolerations", "command", "args", "envFrom", "accessModes", "drop", "add");

    private StrategicMerge() {
    }

    /** A new tree: {@code target} with {@code patch} applied. */
    static JsonNode apply(JsonNode target, JsonNode patch) {
        return merge(target, patch, "");
    }

    private static JsonNode merge(JsonNode target, JsonNode patch, String field) {
        if (patch.isObject() && target != null && target.isObject()) {
            ObjectNode out = ((ObjectNode) target).deepCopy();
            for (Map.Entry<String, JsonNode> e : patch.properties()) {
                String key = e.getKey();
                if (key.startsWith("$")) {
                    throw new IllegalArgumentException("patch directive " + key + " is not supported by this renderer");
                }
                if (e.getValue().isNull()) {
                    out.remove(key);
                } else if (out.has(key)) {
                    out.set(key, merge(out.get(key), e.getValue(), key));
                } else {
                    out.set(key, e.getValue().deepCopy());
                }
            }
            return out;
        }
        if (patch.isArray() && target != null && target.isArray()) {
            String mergeKey = MERGE_KEYS.get(field);
            if (mergeKey != null) {
                return mergeByKey((ArrayNode) target, (ArrayNode) patch, mergeKey, field);
            }
            if (!REPLACED_LISTS.contains(field)) {
                throw new IllegalArgumentException("list '" + field + "' has no strategic-merge rule in this renderer");
            }
        }
        return patch.deepCopy();
    }

    private static ArrayNode mergeByKey(ArrayNode target, ArrayNode patch, String mergeKey, String field) {
        List<JsonNode> items = new ArrayList<>();
        target.forEach(items::add);
        for (JsonNode item : patch) {
            JsonNode key = item.get(mergeKey);
            if (key == null) {
                throw new IllegalArgumentException("an item of '" + field + "' lacks its merge key " + mergeKey);
            }
            int at = -1;
            for (int i = 0; i < items.size(); i++) {
                if (key.equals(items.get(i).get(mergeKey))) {
                    at = i;
                }
            }
            if (at >= 0) {
                items.set(at, merge(items.get(at), item, ""));
            } else {
                items.add(item.deepCopy());
            }
        }
        ArrayNode out = target.arrayNode();
        items.forEach(out::add);
        return out;
    }
}
