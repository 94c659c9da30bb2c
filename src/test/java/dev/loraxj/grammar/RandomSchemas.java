package dev.loraxj.grammar;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.SplittableRandom;

/**
 * Seeded random JSON schemas of the kinds users send: nested objects with required and optional
 * properties, arrays with bounds, strings with lengths, patterns and formats, bounded numbers,
 * enums and consts, anyOf, type-disjoint oneOf, $defs with $ref, and a recursive tree.
 */
public final class RandomSchemas {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] FORMATS = {"date", "time", "date-time", "uuid", "email", "ipv4"};
    private static final String[] PATTERNS = {"^[a-z]{2,6}$", "^[A-Z]{3}-\\d{3}$", "^(yes|no|maybe)$", "x[0-9]+", "^\\w{1,4}(\\.\\w{1,3})?$"};

    private final SplittableRandom rng;
    private ObjectNode defs;

    public RandomSchemas(long seed) {
        this.rng = new SplittableRandom(seed);
    }

    public ObjectNode next() {
        defs = JSON.createObjectNode();
        ObjectNode root = rng.nextInt(4) == 0 ? tree() : object(0);
        if (!defs.isEmpty()) {
            root.set("$defs", defs);
        }
        return root;
    }

    /** A recursive schema: a node with a label and optional children that are nodes. */
    private ObjectNode tree() {
        ObjectNode node = JSON.createObjectNode().put("type", "object");
        ObjectNode props = node.putObject("properties");
        props.set("label", string());
        ObjectNode children = props.putObject("children").put("type", "array").put("maxItems", 2);
        children.putObject("items").put("$ref", "#/$defs/node");
        node.putArray("required").add("label");
        node.put("additionalProperties", false);
        defs.set("node", node);
        ObjectNode root = JSON.createObjectNode().put("type", "object");
        root.putObject("properties").putObject("root").put("$ref", "#/$defs/node");
        root.putArray("required").add("root");
        return root;
    }

    private ObjectNode schema(int depth) {
        int kind = rng.nextInt(depth >= 2 ? 9 : 12);
        return switch (kind) {
            case 0, 1 -> string();
            case 2 -> integer();
            case 3 -> number();
            case 4 -> JSON.createObjectNode().put("type", "boolean");
            case 5 -> enumeration();
            case 6 -> JSON.createObjectNode().set("const", rng.nextBoolean() ? JSON.getNodeFactory().textNode("fixed")
                    : JSON.getNodeFactory().numberNode(42));
            case 7 -> nullable(depth);
            case 8 -> ref(depth);
            case 9 -> object(depth + 1);
            case 10 -> array(depth + 1);
            default -> anyOf(depth + 1);
        };
    }

    private ObjectNode string() {
        ObjectNode s = JSON.createObjectNode().put("type", "string");
        switch (rng.nextInt(4)) {
            case 0 -> s.put("format", FORMATS[rng.nextInt(FORMATS.length)]);
            case 1 -> s.put("pattern", PATTERNS[rng.nextInt(PATTERNS.length)]);
            case 2 -> s.put("minLength", rng.nextInt(3)).put("maxLength", 3 + rng.nextInt(10));
            default -> s.put("maxLength", 1 + rng.nextInt(16));
        }
        return s;
    }

    private ObjectNode integer() {
        ObjectNode s = JSON.createObjectNode().put("type", "integer");
        if (rng.nextBoolean()) {
            int lo = rng.nextInt(-500, 500);
            s.put("minimum", lo).put("maximum", lo + rng.nextInt(2000));
        } else if (rng.nextBoolean()) {
            s.put("exclusiveMinimum", rng.nextInt(-20, 20));
        }
        return s;
    }

    private ObjectNode number() {
        ObjectNode s = JSON.createObjectNode().put("type", "number");
        if (rng.nextBoolean()) {
            int lo = rng.nextInt(-10, 10);
            s.put("minimum", lo).put("maximum", lo + 1 + rng.nextInt(100));
        }
        return s;
    }

    private ObjectNode enumeration() {
        ObjectNode s = JSON.createObjectNode();
        ArrayNode values = s.putArray("enum");
        values.add("red").add("green").add("blue, \"dark\"");
        if (rng.nextBoolean()) {
            values.add(7).addNull();
        } else {
            s.put("type", "string");
        }
        return s;
    }

    private ObjectNode nullable(int depth) {
        ObjectNode s = JSON.createObjectNode();
        ArrayNode types = s.putArray("type");
        types.add(rng.nextBoolean() ? "string" : "integer").add("null");
        s.put("maxLength", 8);
        return s;
    }

    private ObjectNode ref(int depth) {
        String name = "d" + defs.size();
        defs.putNull(name); // reserve the name: a nested $ref must not take it
        defs.set(name, depth < 2 ? object(depth + 1) : string());
        return JSON.createObjectNode().put("$ref", "#/$defs/" + name);
    }

    private ObjectNode object(int depth) {
        ObjectNode s = JSON.createObjectNode().put("type", "object");
        ObjectNode props = s.putObject("properties");
        ArrayNode required = s.putArray("required");
        int n = rng.nextInt(depth == 0 ? 1 : 0, 5);
        for (int i = 0; i < n; i++) {
            String name = "p" + i + (rng.nextInt(5) == 0 ? " \"q\"" : "");
            props.set(name, schema(depth));
            if (rng.nextBoolean()) {
                required.add(name);
            }
        }
        if (rng.nextBoolean()) {
            s.put("additionalProperties", false);
        }
        return s;
    }

    private ObjectNode array(int depth) {
        ObjectNode s = JSON.createObjectNode().put("type", "array");
        s.set("items", schema(depth));
        int min = rng.nextInt(3);
        s.put("minItems", min);
        s.put("maxItems", min + rng.nextInt(4));
        return s;
    }

    private ObjectNode anyOf(int depth) {
        ObjectNode s = JSON.createObjectNode();
        if (rng.nextBoolean()) {
            ArrayNode options = s.putArray("anyOf");
            options.add(schema(depth)).add(schema(depth));
        } else {
            ArrayNode options = s.putArray("oneOf");
            options.add(string()).add(integer()).add(object(depth));
        }
        return s;
    }
}
