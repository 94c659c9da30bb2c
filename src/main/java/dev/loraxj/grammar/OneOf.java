package dev.loraxj.grammar;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code oneOf} compiles as {@code anyOf}, which is exact only when no value can match two
 * branches. This proves it the two ways schemas usually do: branches of different JSON types, or
 * objects told apart by a required property with different {@code const}/{@code enum} values.
 */
final class OneOf {

    private OneOf() {
    }

    static String typeOf(JsonNode v) {
        if (v.isNull()) {
            return "null";
        }
        if (v.isBoolean()) {
            return "boolean";
        }
        if (v.isIntegralNumber() || v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0) {
            return "integer";
        }
        if (v.isNumber()) {
            return "number";
        }
        if (v.isTextual()) {
            return "string";
        }
        return v.isArray() ? "array" : "object";
    }

    static void checkDisjoint(JsonNode options, String path) {
        List<Set<String>> kinds = new ArrayList<>();
        boolean byType = true;
        for (JsonNode o : options) {
            Set<String> k = kinds(o);
            if (k == null) {
                byType = false;
                break;
            }
            for (Set<String> other : kinds) {
                for (String t : k) {
                    if (other.contains(t)) {
                        byType = false;
                    }
                }
            }
            kinds.add(k);
        }
        if (byType || discriminated(options)) {
            return;
        }
        throw new GrammarException("`oneOf` at " + path + ": its branches may match the same value, and only branches of different"
                + " types, or objects told apart by a required property's `const`/`enum`, are supported; use `anyOf` if overlap is fine");
    }

    /** The JSON types a branch can produce (integer and number count as one), or null if unknown. */
    private static Set<String> kinds(JsonNode s) {
        if (!s.isObject() || s.has("$ref") || s.has("anyOf") || s.has("oneOf") || s.has("allOf")) {
            return null;
        }
        Set<String> out = new HashSet<>();
        if (s.has("const") || s.has("enum")) {
            List<JsonNode> values = new ArrayList<>();
            if (s.has("const")) {
                values.add(s.get("const"));
            }
            s.path("enum").forEach(values::add);
            for (JsonNode v : values) {
                out.add(family(typeOf(v)));
            }
            return out;
        }
        List<String> types;
        try {
            types = JsonSchemaRules.types(s, "");
        } catch (GrammarException e) {
            return null;
        }
        if (types == null) {
            return null;
        }
        for (String t : types) {
            out.add(family(t));
        }
        return out;
    }

    private static String family(String type) {
        return type.equals("integer") ? "number" : type;
    }

    /** All objects, with one property required everywhere whose allowed values differ between branches. */
    private static boolean discriminated(JsonNode options) {
        JsonNode first = options.get(0);
        if (!first.path("properties").isObject()) {
            return false;
        }
        for (var it = first.path("properties").fieldNames(); it.hasNext(); ) {
            String name = it.next();
            Set<JsonNode> seen = new HashSet<>();
            boolean ok = true;
            for (JsonNode o : options) {
                Set<JsonNode> values = values(o, name);
                if (values == null) {
                    ok = false;
                    break;
                }
                for (JsonNode v : values) {
                    if (!seen.add(v)) {
                        ok = false;
                    }
                }
            }
            if (ok) {
                return true;
            }
        }
        return false;
    }

    private static Set<JsonNode> values(JsonNode branch, String name) {
        boolean required = false;
        for (JsonNode r : branch.path("required")) {
            required |= r.asText().equals(name);
        }
        JsonNode p = branch.path("properties").path(name);
        if (!required || !p.isObject()) {
            return null;
        }
        Set<JsonNode> out = new HashSet<>();
        if (p.has("const")) {
            out.add(p.get("const"));
        } else if (p.has("enum")) {
            p.get("enum").forEach(out::add);
        } else {
            return null;
        }
        return out;
    }
}
