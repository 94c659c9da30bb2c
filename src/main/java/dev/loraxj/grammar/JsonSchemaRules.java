package dev.loraxj.grammar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A JSON schema as grammar rules. Objects and arrays are rules of their own (so recursion and the
 * masks' caller-independence work out); strings, numbers and literals are inlined into their parent.
 * Every keyword either constrains the output or is an annotation; any other keyword is refused,
 * naming it, so a schema is never silently loosened. Output is always valid, and may be a subset of
 * what the schema allows (properties in the schema's order; no extra properties; see README).
 */
final class JsonSchemaRules {

    static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema", "$id", "$comment",
            "deprecated", "readOnly", "writeOnly", "$defs", "definitions");
    private static final Set<String> COMMON = Set.of("type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref");
    private static final Set<String> OBJECT = Set.of("properties", "required", "additionalProperties");
    private static final Set<String> ARRAY = Set.of("items", "prefixItems", "minItems", "maxItems");
    private static final Set<String> STRING = Set.of("minLength", "maxLength", "pattern", "format");
    private static final Set<String> NUMERIC = Set.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum");
    static final List<String> FORMATS = List.of("date", "time", "date-time", "uuid", "email", "ipv4");

    static final Rx SEPARATOR = Rx.seq(JsonText.WS, Rx.literal(","), JsonText.WS);
    static final Rx COLON = Rx.seq(JsonText.WS, Rx.literal(":"), JsonText.WS);

    private final Rules rules;
    private final JsonNode root;
    private final Deque<String> expanding = new ArrayDeque<>();
    private final Map<String, Integer> recursive = new HashMap<>();
    private Rx any;

    private JsonSchemaRules(Rules rules, JsonNode root) {
        this.rules = rules;
        this.root = root;
    }

    /** Rules for one JSON document valid against {@code schema} (null: any JSON object). */
    static Rules of(JsonNode schema) {
        Rules rules = new Rules();
        rules.start(Rx.seq(JsonText.WS, value(rules, schema)));
        return rules;
    }

    /** A value valid against {@code schema} (null: any JSON object), as a body within {@code rules}. */
    static Rx value(Rules rules, JsonNode schema) {
        JsonSchemaRules s = new JsonSchemaRules(rules, schema);
        if (schema == null) {
            s.any();
            return s.anyObject;
        }
        s.expanding.push("#");
        Rx body = s.value(schema, "#");
        s.expanding.pop();
        Integer self = s.recursive.get("#");
        if (self != null) {
            rules.define(self, body);
            return new Rx.Call(self);
        }
        return body;
    }

    private Rx value(JsonNode schema, String path) {
        if (schema.isBoolean()) {
            if (!schema.booleanValue()) {
                throw new GrammarException("the schema at " + path + " is `false`: no value satisfies it");
            }
            return any();
        }
        if (!schema.isObject()) {
            throw new GrammarException("the schema at " + path + " must be an object or a boolean");
        }
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!ANNOTATIONS.contains(k) && !COMMON.contains(k) && !OBJECT.contains(k) && !ARRAY.contains(k) && !STRING.contains(k)
                    && !NUMERIC.contains(k)) {
                throw new GrammarException("unsupported JSON Schema keyword `" + k + "` at " + path);
            }
        }
        if (schema.has("$ref")) {
            only(schema, path, "$ref");
            return ref(schema.get("$ref").asText(), path);
        }
        if (schema.has("enum") || schema.has("const")) {
            return literals(schema, path);
        }
        if (schema.has("anyOf") || schema.has("oneOf")) {
            String key = schema.has("anyOf") ? "anyOf" : "oneOf";
            only(schema, path, key);
            JsonNode options = schema.get(key);
            if (!options.isArray() || options.isEmpty()) {
                throw new GrammarException("`" + key + "` at " + path + " must be a non-empty array");
            }
            List<Rx> out = new ArrayList<>();
            for (int i = 0; i < options.size(); i++) {
                out.add(value(options.get(i), path + "/" + key + "/" + i));
            }
            if (key.equals("oneOf")) {
                OneOf.checkDisjoint(options, path);
            }
            return Rx.alt(out);
        }
        if (schema.has("allOf")) {
            only(schema, path, "allOf");
            JsonNode all = schema.get("allOf");
            if (!all.isArray() || all.size() != 1) {
                throw new GrammarException("`allOf` at " + path + " is supported with exactly one schema");
            }
            return value(all.get(0), path + "/allOf/0");
        }
        List<String> types = types(schema, path);
        if (types == null) {
            return any();
        }
        List<Rx> out = new ArrayList<>();
        for (String t : types) {
            out.add(switch (t) {
                case "null" -> Rx.literal("null");
                case "boolean" -> Rx.alt(Rx.literal("true"), Rx.literal("false"));
                case "integer" -> integer(schema, path);
                case "number" -> number(schema, path);
                case "string" -> string(schema, path);
                case "object" -> object(schema, path);
                case "array" -> array(schema, path);
                default -> throw new GrammarException("unknown type `" + t + "` at " + path);
            });
        }
        return Rx.alt(out);
    }

    /** Keyword {@code key} with nothing but annotations beside it. */
    private static void only(JsonNode schema, String path, String key) {
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals(key) && !ANNOTATIONS.contains(k)) {
                throw new GrammarException("`" + key + "` at " + path + " together with `" + k + "` is not supported;"
                        + " move `" + k + "` into the `" + key + "` schemas");
            }
        }
    }

    /** The declared types, else the one the keywords imply; null when nothing constrains the type. */
    static List<String> types(JsonNode schema, String path) {
        JsonNode type = schema.get("type");
        if (type != null) {
            List<String> out = new ArrayList<>();
            if (type.isTextual()) {
                out.add(type.asText());
            } else if (type.isArray() && !type.isEmpty()) {
                type.forEach(t -> out.add(t.asText()));
            } else {
                throw new GrammarException("`type` at " + path + " must be a string or a non-empty array");
            }
            return out;
        }
        Set<String> implied = new HashSet<>();
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (OBJECT.contains(k)) {
                implied.add("object");
            } else if (ARRAY.contains(k)) {
                implied.add("array");
            } else if (STRING.contains(k)) {
                implied.add("string");
            } else if (NUMERIC.contains(k)) {
                implied.add("number");
            }
        }
        if (implied.size() > 1) {
            throw new GrammarException("the schema at " + path + " has keywords of several types " + implied + " and no `type`");
        }
        return implied.isEmpty() ? null : List.copyOf(implied);
    }

    private Rx ref(String ref, String path) {
        if (!ref.equals("#") && !ref.startsWith("#/")) {
            throw new GrammarException("`$ref` at " + path + " must point into this schema (\"#\" or \"#/...\"), got " + ref);
        }
        if (expanding.contains(ref)) {
            return new Rx.Call(recursive.computeIfAbsent(ref, r -> rules.reserve()));
        }
        Integer done = recursive.get(ref);
        if (done != null) {
            return new Rx.Call(done);
        }
        JsonNode target = ref.equals("#") ? root : root.at(ref.substring(1).replace("~1", "/").replace("~0", "~"));
        if (target.isMissingNode()) {
            throw new GrammarException("`$ref` at " + path + " points to " + ref + ", which the schema does not have");
        }
        expanding.push(ref);
        Rx body = value(target, ref);
        expanding.pop();
        Integer self = recursive.get(ref);
        if (self != null) {
            rules.define(self, body);
            return new Rx.Call(self);
        }
        return body;
    }

    private Rx literals(JsonNode schema, String path) {
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals("enum") && !k.equals("const") && !k.equals("type") && !ANNOTATIONS.contains(k)) {
                throw new GrammarException("`" + k + "` beside `enum`/`const` at " + path + " is not supported");
            }
        }
        List<JsonNode> values = new ArrayList<>();
        if (schema.has("const")) {
            values.add(schema.get("const"));
        }
        if (schema.has("enum")) {
            JsonNode e = schema.get("enum");
            if (!e.isArray() || e.isEmpty()) {
                throw new GrammarException("`enum` at " + path + " must be a non-empty array");
            }
            e.forEach(values::add);
        }
        List<String> types = schema.has("type") ? types(schema, path) : null;
        List<Rx> out = new ArrayList<>();
        for (JsonNode v : values) {
            if (types != null && types.stream().noneMatch(t -> OneOf.typeOf(v).equals(t)
                    || t.equals("number") && OneOf.typeOf(v).equals("integer"))) {
                continue;
            }
            if (schema.has("const") && schema.has("enum") && !v.equals(schema.get("const"))) {
                continue;
            }
            try {
                out.add(Rx.literal(JsonText.MAPPER.writeValueAsString(v)));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
        if (out.isEmpty()) {
            throw new GrammarException("no value of `enum`/`const` at " + path + " satisfies its `type`");
        }
        return Rx.alt(out);
    }

    private static BigDecimal decimal(JsonNode schema, String key, String path) {
        JsonNode v = schema.get(key);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw new GrammarException("`" + key + "` at " + path + " must be a number");
        }
        return v.decimalValue();
    }

    private static Rx integer(JsonNode schema, String path) {
        BigDecimal min = decimal(schema, "minimum", path);
        BigDecimal max = decimal(schema, "maximum", path);
        BigDecimal xmin = decimal(schema, "exclusiveMinimum", path);
        BigDecimal xmax = decimal(schema, "exclusiveMaximum", path);
        if (min == null && max == null && xmin == null && xmax == null) {
            return JsonText.INTEGER;
        }
        BigInteger lo = null;
        BigInteger hi = null;
        if (min != null) {
            lo = min.setScale(0, RoundingMode.CEILING).toBigInteger();
        }
        if (xmin != null) {
            BigInteger x = xmin.setScale(0, RoundingMode.FLOOR).toBigInteger().add(BigInteger.ONE);
            lo = lo == null ? x : lo.max(x);
        }
        if (max != null) {
            hi = max.setScale(0, RoundingMode.FLOOR).toBigInteger();
        }
        if (xmax != null) {
            BigInteger x = xmax.setScale(0, RoundingMode.CEILING).toBigInteger().subtract(BigInteger.ONE);
            hi = hi == null ? x : hi.min(x);
        }
        if (lo != null && lo.abs().compareTo(Decimals.LIMIT) > 0 || hi != null && hi.abs().compareTo(Decimals.LIMIT) > 0) {
            throw new GrammarException("integer bounds at " + path + " must have at most 18 digits");
        }
        return Decimals.integers(lo, hi);
    }

    private static Rx number(JsonNode schema, String path) {
        if (schema.has("exclusiveMinimum") || schema.has("exclusiveMaximum")) {
            throw new GrammarException("`exclusiveMinimum`/`exclusiveMaximum` at " + path + " are supported for integers only;"
                    + " use `minimum`/`maximum`");
        }
        BigDecimal min = decimal(schema, "minimum", path);
        BigDecimal max = decimal(schema, "maximum", path);
        if (min == null && max == null) {
            return JsonText.NUMBER;
        }
        for (BigDecimal b : new BigDecimal[]{min, max}) {
            if (b != null && (b.stripTrailingZeros().scale() > 0 || b.abs().compareTo(new BigDecimal(Decimals.LIMIT)) > 0)) {
                throw new GrammarException("`minimum`/`maximum` of a number at " + path + " must be whole numbers of at most 18 digits"
                        + " (got " + b.toPlainString() + ")");
            }
        }
        return Decimals.numbers(min == null ? null : min.toBigInteger(), max == null ? null : max.toBigInteger());
    }

    private static int count(JsonNode schema, String key, String path, int absent) {
        JsonNode v = schema.get(key);
        if (v == null) {
            return absent;
        }
        if (!v.canConvertToInt() || v.asInt() < 0 || !v.isIntegralNumber()) {
            throw new GrammarException("`" + key + "` at " + path + " must be a non-negative integer");
        }
        return v.asInt();
    }

    private static Rx string(JsonNode schema, String path) {
        int min = count(schema, "minLength", path, 0);
        int max = count(schema, "maxLength", path, -1);
        if (max != -1 && max < min) {
            throw new GrammarException("`maxLength` below `minLength` at " + path);
        }
        boolean lengths = schema.has("minLength") || schema.has("maxLength");
        if (schema.has("format")) {
            String f = schema.get("format").asText();
            if (lengths || schema.has("pattern")) {
                throw new GrammarException("`format` together with `pattern`, `minLength` or `maxLength` at " + path + " is not supported");
            }
            return JsonText.string(switch (f) {
                case "date" -> JsonText.DATE;
                case "time" -> JsonText.TIME;
                case "date-time" -> JsonText.DATE_TIME;
                case "uuid" -> JsonText.UUID;
                case "email" -> JsonText.EMAIL;
                case "ipv4" -> JsonText.IPV4;
                default -> throw new GrammarException("string format `" + f + "` at " + path + " is not supported (supported: "
                        + String.join(", ", FORMATS) + ")");
            });
        }
        if (schema.has("pattern")) {
            if (lengths) {
                throw new GrammarException("`pattern` together with `minLength`/`maxLength` at " + path + " is not supported;"
                        + " put the length into the pattern (e.g. {1,20})");
            }
            return JsonText.string(RegexParser.search(schema.get("pattern").asText(), JsonText::chars, "`pattern` at " + path));
        }
        return JsonText.string(new Rx.Repeat(JsonText.CHAR, min, max));
    }

    private Rx object(JsonNode schema, String path) {
        JsonNode props = schema.path("properties");
        if (!props.isMissingNode() && !props.isObject()) {
            throw new GrammarException("`properties` at " + path + " must be an object");
        }
        Set<String> required = new HashSet<>();
        JsonNode req = schema.path("required");
        if (!req.isMissingNode()) {
            if (!req.isArray()) {
                throw new GrammarException("`required` at " + path + " must be an array of names");
            }
            req.forEach(r -> required.add(r.asText()));
        }
        JsonNode additional = schema.get("additionalProperties");
        if (additional != null && !additional.isBoolean() && !additional.isObject()) {
            throw new GrammarException("`additionalProperties` at " + path + " must be a boolean or a schema");
        }
        Map<String, JsonNode> members = new LinkedHashMap<>();
        props.properties().forEach(e -> members.put(e.getKey(), e.getValue()));
        for (String r : required) {
            if (!members.containsKey(r)) {
                if (additional != null && additional.isBoolean() && !additional.booleanValue()) {
                    throw new GrammarException("`required` at " + path + " names `" + r + "`, which `additionalProperties: false` forbids");
                }
                members.put(r, additional != null && additional.isObject() ? additional : null);
            }
        }
        Rx body;
        if (members.isEmpty() && (additional == null || additional.isObject() || additional.booleanValue())) {
            // a map: any keys, values of the additional schema
            Rx v = additional != null && additional.isObject() ? value(additional, path + "/additionalProperties") : any();
            Rx kv = Rx.seq(JsonText.string(Rx.star(JsonText.CHAR)), COLON, v);
            body = Rx.seq(Rx.literal("{"), JsonText.WS, Rx.optional(Rx.seq(kv, Rx.star(Rx.seq(SEPARATOR, kv)))), JsonText.WS, Rx.literal("}"));
        } else {
            List<Rx> kvs = new ArrayList<>();
            List<Boolean> must = new ArrayList<>();
            for (Map.Entry<String, JsonNode> m : members.entrySet()) {
                Rx v = m.getValue() == null ? any() : value(m.getValue(), path + "/properties/" + m.getKey());
                kvs.add(Rx.seq(JsonText.quoted(m.getKey()), COLON, v));
                must.add(required.contains(m.getKey()));
            }
            body = Rx.seq(Rx.literal("{"), JsonText.WS, new Rx.Members(kvs, must, SEPARATOR), JsonText.WS, Rx.literal("}"));
        }
        return new Rx.Call(rules.rule(body));
    }

    private Rx array(JsonNode schema, String path) {
        if (schema.has("uniqueItems") || schema.has("contains")) {
            throw new GrammarException("`uniqueItems`/`contains` at " + path + " are not supported");
        }
        int min = count(schema, "minItems", path, 0);
        int max = count(schema, "maxItems", path, -1);
        if (max != -1 && max < min) {
            throw new GrammarException("`maxItems` below `minItems` at " + path);
        }
        List<Rx> prefix = new ArrayList<>();
        JsonNode pi = schema.get("prefixItems");
        if (pi != null) {
            if (!pi.isArray()) {
                throw new GrammarException("`prefixItems` at " + path + " must be an array of schemas");
            }
            for (int i = 0; i < pi.size(); i++) {
                prefix.add(value(pi.get(i), path + "/prefixItems/" + i));
            }
        }
        JsonNode items = schema.get("items");
        Rx item;
        if (items == null || items.isBoolean() && items.booleanValue()) {
            item = any();
        } else if (items.isBoolean()) {
            item = null;
            max = max == -1 ? prefix.size() : Math.min(max, prefix.size());
        } else if (items.isArray()) {
            throw new GrammarException("`items` at " + path + " as an array is draft-07's tuple form; use `prefixItems`");
        } else {
            item = value(items, path + "/items");
        }
        if (min > (max == -1 ? Integer.MAX_VALUE : max)) {
            throw new GrammarException("`minItems` at " + path + " exceeds the items the schema allows");
        }
        Rx content = max == 0 ? Rx.EMPTY : elements(prefix, item, min, max, 0);
        Rx body = Rx.seq(Rx.literal("["), JsonText.WS, content, JsonText.WS, Rx.literal("]"));
        return new Rx.Call(rules.rule(body));
    }

    /** Elements from position j on (j > 0: one was written before, so each starts with a comma). */
    private static Rx elements(List<Rx> prefix, Rx item, int min, int max, int j) {
        if (max != -1 && j >= max) {
            return Rx.EMPTY;
        }
        Rx lead = j == 0 ? Rx.EMPTY : SEPARATOR;
        if (j >= prefix.size()) {
            int rmin = Math.max(min - j, 0);
            int rmax = max == -1 ? -1 : max - j;
            if (j == 0) {
                Rx rest = new Rx.Repeat(Rx.seq(SEPARATOR, item), Math.max(rmin - 1, 0), rmax == -1 ? -1 : rmax - 1);
                Rx some = Rx.seq(item, rest);
                return rmin == 0 ? Rx.optional(some) : some;
            }
            return new Rx.Repeat(Rx.seq(SEPARATOR, item), rmin, rmax);
        }
        Rx here = Rx.seq(lead, prefix.get(j), elements(prefix, item, min, max, j + 1));
        return j >= min ? Rx.optional(here) : here;
    }

    /** Any JSON value; objects and arrays are rules, so values nest to any depth. */
    private Rx any() {
        if (any == null) {
            int object = rules.reserve();
            int array = rules.reserve();
            anyObject = new Rx.Call(object);
            Rx string = JsonText.string(Rx.star(JsonText.CHAR));
            any = Rx.alt(string, JsonText.NUMBER, Rx.literal("true"), Rx.literal("false"), Rx.literal("null"), new Rx.Call(object),
                    new Rx.Call(array));
            Rx kv = Rx.seq(string, COLON, any);
            rules.define(object, Rx.seq(Rx.literal("{"), JsonText.WS, Rx.optional(Rx.seq(kv, Rx.star(Rx.seq(SEPARATOR, kv)))),
                    JsonText.WS, Rx.literal("}")));
            rules.define(array, Rx.seq(Rx.literal("["), JsonText.WS, Rx.optional(Rx.seq(any, Rx.star(Rx.seq(SEPARATOR, any)))),
                    JsonText.WS, Rx.literal("]")));
        }
        return any;
    }

    private Rx anyObject;
}
