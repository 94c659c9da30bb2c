package dev.loraxj.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.DoublePredicate;

/**
 * The generated corpus of hostile requests, each with the answer it must get. Every valid base body
 * asks for 2 greedy tokens, so a case that is (rightly) accepted finishes in milliseconds.
 */
final class HostileCorpus {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final String RAW = "@@RAW@@";

    enum Shape { LORAX, OPENAI }

    enum Route {
        GENERATE("/generate", Shape.LORAX),
        GENERATE_STREAM("/generate_stream", Shape.LORAX),
        COMPAT("/", Shape.LORAX),
        COMPAT_SSE("/", Shape.LORAX),
        TOKENIZE("/tokenize", Shape.LORAX),
        COMPLETIONS("/v1/completions", Shape.OPENAI),
        CHAT("/v1/chat/completions", Shape.OPENAI);

        final String path;
        final Shape shape;

        Route(String path, Shape shape) {
            this.path = path;
            this.shape = shape;
        }

        int invalid() {
            return shape == Shape.OPENAI ? 400 : 422;
        }

        boolean generates() {
            return this != TOKENIZE;
        }
    }

    /** The answer a case must get; the status set depends on the route's API. */
    enum Expect {
        OK, INVALID, OK_OR_INVALID, ADAPTER_REFUSED, METHOD, MEDIA_TYPE, TOO_LARGE, BAD_REQUEST;

        Set<Integer> statuses(Route r) {
            return switch (this) {
                case OK -> Set.of(200);
                case INVALID -> Set.of(r.invalid());
                case OK_OR_INVALID -> Set.of(200, r.invalid());
                // LoRAX: 422 (refused id) or 424 (adapter failure); OpenAI: 400 or 404 (model_not_found)
                case ADAPTER_REFUSED -> r.shape == Shape.OPENAI ? Set.of(400, 404) : Set.of(422, 424);
                case METHOD -> Set.of(405, 404);
                case MEDIA_TYPE -> Set.of(415);
                case TOO_LARGE -> Set.of(413);
                case BAD_REQUEST -> Set.of(400);
            };
        }
    }

    /**
     * One request. {@code raw} requests go over a plain socket exactly as given (with
     * {@code extraBytes} of filler streamed after them); the others go through java.net.http.
     */
    record Case(String family, Route route, String detail, String method, String contentType, byte[] body,
                byte[] raw, long extraBytes, Expect expect, boolean hostileAdapter) {
        String name() {
            return family + " " + (method.equals("POST") ? "" : method + " ") + route.path
                    + (route == Route.COMPAT_SSE ? "(stream)" : "") + " " + detail;
        }
    }

    private final int port;
    private final long maxBodyBytes;
    private final List<Case> cases = new ArrayList<>();

    private HostileCorpus(int port, long maxBodyBytes) {
        this.port = port;
        this.maxBodyBytes = maxBodyBytes;
    }

    static List<Case> build(int port, long maxBodyBytes) {
        HostileCorpus c = new HostileCorpus(port, maxBodyBytes);
        for (Route r : Route.values()) {
            c.structure(r);
            c.truncations(r);
            c.wrongTypes(r);
            c.numbers(r);
            c.strings(r);
            c.unicode(r);
            c.utf8(r);
            c.adapters(r);
            c.methodsAndMediaTypes(r);
            c.framing(r);
        }
        c.merges();
        return c.cases;
    }

    // ---- base bodies --------------------------------------------------------------------------

    static final String PROMPT = "Once upon a time";

    static ObjectNode base(Route r) {
        ObjectNode o = JSON.createObjectNode();
        switch (r) {
            case TOKENIZE -> o.put("inputs", PROMPT).put("add_special_tokens", true);
            case COMPLETIONS -> o.put("prompt", PROMPT).put("max_tokens", 2);
            case CHAT -> {
                o.putArray("messages").addObject().put("role", "user").put("content", PROMPT);
                o.put("max_tokens", 2);
            }
            default -> {
                o.put("inputs", PROMPT);
                o.putObject("parameters").put("max_new_tokens", 2);
                if (r == Route.COMPAT || r == Route.COMPAT_SSE) {
                    o.put("stream", r == Route.COMPAT_SSE);
                }
            }
        }
        return o;
    }

    /** A valid body that sets every parameter the route knows (a long text to cut at many offsets). */
    static ObjectNode full(Route r) {
        ObjectNode o = base(r);
        switch (r) {
            case TOKENIZE -> {
            }
            case COMPLETIONS, CHAT -> {
                o.put("model", "").put("temperature", 0.7).put("top_p", 0.9).put("n", 2).put("stream", false)
                        .put("seed", 7).put("presence_penalty", 0.1).put("frequency_penalty", 0.1);
                o.putArray("stop").add("zzz");
                o.putObject("logit_bias").put("10", 1.5);
                if (r == Route.COMPLETIONS) {
                    o.put("logprobs", 1).put("echo", false);
                } else {
                    o.put("logprobs", true).put("top_logprobs", 1);
                }
            }
            default -> {
                ObjectNode p = (ObjectNode) o.get("parameters");
                p.put("adapter_id", "lora-name-max").put("adapter_source", "local").put("api_token", "t")
                        .put("do_sample", true).put("temperature", 0.7).put("top_k", 20).put("top_p", 0.9)
                        .put("typical_p", 0.95).put("repetition_penalty", 1.1).put("frequency_penalty", 0.1)
                        .put("presence_penalty", 0.1).put("seed", 7).put("return_full_text", false)
                        .put("details", true).put("decoder_input_details", false).put("return_k_alternatives", 1)
                        .put("best_of", 1).put("ignore_eos_token", true).put("truncate", 100);
                p.putArray("stop").add("zzz");
                p.putObject("logit_bias").put("10", 1.5);
            }
        }
        return o;
    }

    static ObjectNode validMerge() {
        ObjectNode m = JSON.createObjectNode();
        m.putArray("ids").add("lora-name-max").add("lora-name-sue");
        m.putArray("weights").add(0.5).add(0.5);
        m.put("merge_strategy", "ties").put("density", 0.5).put("majority_sign_method", "total");
        return m;
    }

    // ---- families -----------------------------------------------------------------------------

    private void structure(Route r) {
        for (String body : new String[] {"", " ", "\n", "null", "[]", "\"text\"", "42", "true", "false", "{}", "[{}]",
                "{}{}", "{\"a\":1} x", "{,}", "{\"a\"}", "{'inputs':'x'}", "{\"inputs\":\"x\",}", "[" + base(r) + "]",
                base(r) + " " + base(r), "\"" + "Once upon a time ".repeat(20_000) + "\""}) {
            json("structure", r, abbreviate(body), body, Expect.INVALID);
        }
        // 10,000 levels of nesting, as the whole body, unclosed, and inside a field
        String deepArray = "[".repeat(10_000) + "]".repeat(10_000);
        String deepObject = "{\"a\":".repeat(10_000) + "1" + "}".repeat(10_000);
        json("deep", r, "body=[x10000]", deepArray, Expect.INVALID);
        json("deep", r, "body={a:x10000}", deepObject, Expect.INVALID);
        json("deep", r, "body=[x10000 unclosed", "[".repeat(10_000), Expect.INVALID);
        String text = r == Route.COMPLETIONS ? "prompt" : r == Route.CHAT ? "messages" : "inputs";
        json("deep", r, text + "=[x10000]", raw(base(r), text, deepArray), Expect.INVALID);
        json("deep", r, text + "={a:x10000}", raw(base(r), text, deepObject), Expect.INVALID);
        if (r.shape == Shape.LORAX && r != Route.TOKENIZE) {
            json("deep", r, "parameters=[x10000]", raw(base(r), "parameters", deepArray), Expect.INVALID);
        }
        // an unknown field is ignored, but its nesting may still be refused by the parser
        json("deep", r, "unknown=[x10000]", raw(base(r), "junk", deepArray), Expect.OK_OR_INVALID);
        json("control", r, "base", base(r).toString(), Expect.OK);
        json("control", r, "full", full(r).toString(), Expect.OK);
    }

    private void truncations(Route r) {
        String small = base(r).toString();
        for (int cut = 1; cut < small.length(); cut++) {
            json("truncated", r, "base[0," + cut + ")", small.substring(0, cut), Expect.INVALID);
        }
        String big = full(r).toString();
        for (int cut = 1; cut < big.length(); cut += 7) {
            json("truncated", r, "full[0," + cut + ")", big.substring(0, cut), Expect.INVALID);
        }
    }

    /** Field kinds and the values of the wrong type for each. */
    enum Kind {
        STR, INT, LONG, FLOAT, BOOL, STRLIST, FLOATLIST, MAP, OBJ, STOP, PROMPT, MESSAGES;

        List<String> wrong() {
            return switch (this) {
                case STR -> List.of("5", "1.5", "true", "[]", "{}", "[\"a\"]");
                case INT, LONG -> List.of("\"5\"", "\"x\"", "1.5", "true", "[]", "{}", "[1]");
                case FLOAT -> List.of("\"0.5\"", "\"x\"", "true", "[]", "{}", "[0.5]");
                case BOOL -> List.of("1", "0", "\"true\"", "\"x\"", "[]", "{}");
                case STRLIST -> List.of("\"x\"", "5", "true", "{}", "[5]", "[true]", "[[]]", "[{}]", "[null]", "[\"\"]");
                case FLOATLIST -> List.of("\"x\"", "5", "{}", "[\"a\"]", "[true]", "[[]]", "[null, 0.5]");
                case MAP -> List.of("[]", "\"x\"", "5", "true", "{\"10\":\"x\"}", "{\"10\":[]}", "{\"10\":true}",
                        "{\"x\":1}", "{\"-1\":1}", "{\"512\":1}", "{\"99999999999\":1}", "{\"\":1}");
                case OBJ -> List.of("\"x\"", "5", "true", "[]", "[{}]");
                case STOP -> List.of("5", "true", "{}", "[5]", "[true]", "[[]]", "[{}]", "[null]");
                case PROMPT -> List.of("5", "true", "{}", "[]", "[5]", "[[1,2]]", "[null]", "[\"a\", 5]");
                case MESSAGES -> List.of("\"x\"", "5", "true", "{}", "[]", "[5]", "[\"x\"]", "[{}]", "[null]",
                        "[{\"role\":5,\"content\":\"x\"}]", "[{\"role\":\"user\",\"content\":5}]",
                        "[{\"role\":\"user\",\"content\":{}}]", "[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]",
                        "[{\"role\":\"user\",\"content\":[5]}]", "[{\"role\":\"wizard\",\"content\":\"x\"}]",
                        "[{\"role\":\"\",\"content\":\"x\"}]", "[{\"content\":\"x\"}]");
            };
        }
    }

    /** Where a field lives in the body ("parameters.top_k"), its kind, and its rule for numbers. */
    record Field(String path, Kind kind, DoublePredicate valid, boolean negativeAmbiguous) {
    }

    static DoublePredicate range(double lo, double hi) {
        return v -> v >= lo && v <= hi;
    }

    private static final DoublePredicate ANY = v -> true;
    private static final DoublePredicate NONE = v -> false;
    private static final DoublePredicate POSITIVE_FINITE = v -> v > 0 && Double.isFinite(v);
    private static final DoublePredicate PROBABILITY = v -> v > 0 && v <= 1;

    static List<Field> fields(Route r) {
        List<Field> f = new ArrayList<>();
        switch (r) {
            case TOKENIZE -> {
                f.add(new Field("inputs", Kind.STR, NONE, false));
                f.add(new Field("add_special_tokens", Kind.BOOL, NONE, false));
            }
            case COMPLETIONS, CHAT -> {
                f.add(new Field("model", Kind.STR, NONE, false));
                f.add(r == Route.CHAT ? new Field("messages", Kind.MESSAGES, NONE, false) : new Field("prompt", Kind.PROMPT, NONE, false));
                f.add(new Field("max_tokens", Kind.INT, range(1, 400), false));
                f.add(new Field("temperature", Kind.FLOAT, range(0, 2), false));
                f.add(new Field("top_p", Kind.FLOAT, PROBABILITY, false));
                f.add(new Field("n", Kind.INT, range(1, 128), false));
                f.add(new Field("stream", Kind.BOOL, NONE, false));
                f.add(new Field("stop", Kind.STOP, NONE, false));
                f.add(r == Route.CHAT ? new Field("logprobs", Kind.BOOL, NONE, false) : new Field("logprobs", Kind.INT, range(0, 20), false));
                if (r == Route.CHAT) {
                    f.add(new Field("top_logprobs", Kind.INT, NONE, false)); // needs logprobs: true, which the base lacks
                } else {
                    f.add(new Field("echo", Kind.BOOL, NONE, false));
                }
                f.add(new Field("seed", Kind.LONG, v -> v >= 0, false));
                f.add(new Field("logit_bias", Kind.MAP, NONE, false));
                f.add(new Field("logit_bias.10", Kind.FLOAT, range(-100, 100), false));
                f.add(new Field("presence_penalty", Kind.FLOAT, range(-2, 2), false));
                f.add(new Field("frequency_penalty", Kind.FLOAT, range(-2, 2), false));
                f.add(new Field("stream_options", Kind.OBJ, NONE, false));
            }
            default -> {
                f.add(new Field("inputs", Kind.STR, NONE, false));
                f.add(new Field("parameters", Kind.OBJ, NONE, false));
                f.add(new Field("stream", Kind.BOOL, NONE, false));
                String p = "parameters.";
                f.add(new Field(p + "adapter_id", Kind.STR, NONE, false));
                f.add(new Field(p + "adapter_source", Kind.STR, NONE, false));
                f.add(new Field(p + "api_token", Kind.STR, NONE, false));
                f.add(new Field(p + "merged_adapters", Kind.OBJ, NONE, false));
                f.add(new Field(p + "merged_adapters.ids", Kind.STRLIST, NONE, false));
                f.add(new Field(p + "merged_adapters.weights", Kind.FLOATLIST, NONE, false));
                f.add(new Field(p + "merged_adapters.weights.#0", Kind.FLOAT, NONE, false));
                f.add(new Field(p + "merged_adapters.merge_strategy", Kind.STR, NONE, false));
                f.add(new Field(p + "merged_adapters.density", Kind.FLOAT, PROBABILITY, false));
                f.add(new Field(p + "merged_adapters.majority_sign_method", Kind.STR, NONE, false));
                f.add(new Field(p + "do_sample", Kind.BOOL, NONE, false));
                f.add(new Field(p + "temperature", Kind.FLOAT, POSITIVE_FINITE, false));
                f.add(new Field(p + "top_k", Kind.INT, v -> v >= 0, false));
                f.add(new Field(p + "top_p", Kind.FLOAT, PROBABILITY, false));
                f.add(new Field(p + "typical_p", Kind.FLOAT, PROBABILITY, false));
                f.add(new Field(p + "repetition_penalty", Kind.FLOAT, POSITIVE_FINITE, false));
                f.add(new Field(p + "frequency_penalty", Kind.FLOAT, range(-2, 2), false));
                f.add(new Field(p + "presence_penalty", Kind.FLOAT, range(-2, 2), false));
                f.add(new Field(p + "max_new_tokens", Kind.INT, range(1, 400), false));
                f.add(new Field(p + "stop", Kind.STRLIST, NONE, false));
                // LoRAX's seed is a u64: a negative one may be refused or taken
                f.add(new Field(p + "seed", Kind.LONG, v -> v >= 0, true));
                f.add(new Field(p + "return_full_text", Kind.BOOL, NONE, false));
                f.add(new Field(p + "details", Kind.BOOL, NONE, false));
                f.add(new Field(p + "decoder_input_details", Kind.BOOL, NONE, false));
                f.add(new Field(p + "return_k_alternatives", Kind.INT, range(0, 100), false));
                f.add(new Field(p + "best_of", Kind.INT, v -> v == 1, false)); // > 1 needs sampling, which the base lacks
                f.add(new Field(p + "ignore_eos_token", Kind.BOOL, NONE, false));
                f.add(new Field(p + "truncate", Kind.INT, range(1, 511), false));
                f.add(new Field(p + "logit_bias", Kind.MAP, NONE, false));
                f.add(new Field(p + "logit_bias.10", Kind.FLOAT, range(-100, 100), false));
            }
        }
        return f;
    }

    /** The body a field's mutation starts from: merges need a valid merge around the mutated part. */
    private static ObjectNode baseFor(Route r, Field f) {
        ObjectNode o = base(r);
        if (f.path.startsWith("parameters.merged_adapters.")) {
            ((ObjectNode) o.get("parameters")).set("merged_adapters", validMerge());
        }
        return o;
    }

    private void wrongTypes(Route r) {
        for (Field f : fields(r)) {
            for (String v : f.kind.wrong()) {
                // stream is only read by the compat route; elsewhere LoRAX ignores the unknown field
                Expect e = f.path.equals("stream") && r.shape == Shape.LORAX && r != Route.COMPAT && r != Route.COMPAT_SSE
                        ? Expect.OK_OR_INVALID : Expect.INVALID;
                if (f.path.endsWith("merged_adapters.ids") && v.equals("[\"\"]")) {
                    e = Expect.INVALID;
                }
                json("wrong-type", r, f.path + "=" + v, raw(baseFor(r, f), f.path, v), e);
            }
        }
    }

    /** Number literals at the edges: non-JSON tokens, overflow, 2^63, 2^31, negatives, zero, a fraction. */
    static final List<String> NUMBERS = List.of("NaN", "Infinity", "-Infinity", "+1", "1e309", "-1e309",
            "9223372036854775808", "-9223372036854775809", "2147483648", "-1", "0", "1.5", "1e-50", "-0");

    private void numbers(Route r) {
        for (Field f : fields(r)) {
            if (f.kind != Kind.INT && f.kind != Kind.LONG && f.kind != Kind.FLOAT) {
                continue;
            }
            for (String n : NUMBERS) {
                json("number", r, f.path + "=" + n, raw(baseFor(r, f), f.path, n), expectNumber(f, n));
            }
        }
    }

    static Expect expectNumber(Field f, String literal) {
        if (literal.equals("NaN") || literal.contains("Infinity") || literal.startsWith("+")) {
            return Expect.INVALID; // not JSON
        }
        boolean integral = !literal.contains(".") && !literal.contains("e");
        double value;
        switch (f.kind) {
            case INT -> {
                if (!integral || !fits(literal, Integer.MIN_VALUE, Integer.MAX_VALUE)) {
                    return Expect.INVALID;
                }
                value = Long.parseLong(literal);
            }
            case LONG -> {
                if (!integral || !fits(literal, Long.MIN_VALUE, Long.MAX_VALUE)) {
                    return Expect.INVALID;
                }
                value = Long.parseLong(literal);
            }
            default -> {
                value = (float) Double.parseDouble(literal);
                if (f.valid.test(value) != f.valid.test(Double.parseDouble(literal))) {
                    return Expect.OK_OR_INVALID; // e.g. 1e-50 is 0 as an f32 (LoRAX's type) but positive as a double
                }
            }
        }
        if (f.path.endsWith("weights.#0")) {
            return Double.isFinite(value) ? Expect.OK_OR_INVALID : Expect.INVALID; // how a merge treats huge weights is open
        }
        if (f.negativeAmbiguous && value < 0) {
            return Expect.OK_OR_INVALID;
        }
        return f.valid.test(value) ? Expect.OK : Expect.INVALID;
    }

    private static boolean fits(String integer, long lo, long hi) {
        java.math.BigInteger v = new java.math.BigInteger(integer);
        return v.compareTo(java.math.BigInteger.valueOf(lo)) >= 0 && v.compareTo(java.math.BigInteger.valueOf(hi)) <= 0;
    }

    static final String HUGE = "Once upon a time ".repeat(18_000); // ~300 KB

    private void strings(Route r) {
        Map<String, Expect[]> fields = new LinkedHashMap<>(); // path -> {empty, huge}
        switch (r) {
            case TOKENIZE -> fields.put("inputs", new Expect[] {Expect.OK_OR_INVALID, Expect.OK_OR_INVALID});
            case COMPLETIONS, CHAT -> {
                fields.put("model", new Expect[] {Expect.OK, Expect.ADAPTER_REFUSED});
                if (r == Route.COMPLETIONS) {
                    fields.put("prompt", new Expect[] {Expect.OK_OR_INVALID, Expect.INVALID});
                } else {
                    fields.put("messages.#0.content", new Expect[] {Expect.OK_OR_INVALID, Expect.INVALID});
                    fields.put("messages.#0.role", new Expect[] {Expect.INVALID, Expect.INVALID});
                }
                fields.put("stop", new Expect[] {Expect.OK_OR_INVALID, Expect.OK_OR_INVALID});
            }
            default -> {
                fields.put("inputs", new Expect[] {Expect.INVALID, Expect.INVALID});
                fields.put("parameters.adapter_id", new Expect[] {Expect.OK, Expect.ADAPTER_REFUSED});
                fields.put("parameters.adapter_source", new Expect[] {Expect.OK, Expect.INVALID});
                fields.put("parameters.api_token", new Expect[] {Expect.OK, Expect.OK_OR_INVALID});
                fields.put("parameters.stop.#0", new Expect[] {Expect.INVALID, Expect.OK_OR_INVALID});
                fields.put("parameters.merged_adapters.merge_strategy", new Expect[] {Expect.INVALID, Expect.INVALID});
                fields.put("parameters.merged_adapters.majority_sign_method", new Expect[] {Expect.INVALID, Expect.INVALID});
                fields.put("parameters.merged_adapters.ids.#0", new Expect[] {Expect.INVALID, Expect.ADAPTER_REFUSED});
            }
        }
        fields.forEach((path, e) -> {
            Field f = new Field(path, Kind.STR, NONE, false);
            json("string", r, path + "=\"\"", set(baseFor(r, f), path, TextNode.valueOf("")).toString(), e[0]);
            json("string", r, path + "=<300KB>", set(baseFor(r, f), path, TextNode.valueOf(HUGE)).toString(), e[1]);
        });
    }

    /** The route's main text field, where the prompt goes. */
    static String textPath(Route r) {
        return switch (r) {
            case COMPLETIONS -> "prompt";
            case CHAT -> "messages.#0.content";
            default -> "inputs";
        };
    }

    private void unicode(Route r) {
        // lone surrogates cannot be encoded as UTF-8: a tokenizer would see replacement characters
        for (String s : new String[] {"\\ud800", "\\udfff", "a\\ud800b", "\\ud800\\ud800", "\\udc00\\ud800", "x\\ud83d"}) {
            json("surrogate", r, textPath(r) + "=\"" + s + "\"", raw(base(r), textPath(r), "\"" + s + "\""), Expect.INVALID);
            if (r.shape == Shape.LORAX && r != Route.TOKENIZE) {
                json("surrogate", r, "parameters.stop.#0=\"" + s + "\"", raw(base(r), "parameters.stop.#0", "\"" + s + "\""), Expect.INVALID);
            }
            if (r == Route.COMPLETIONS) {
                json("surrogate", r, "stop=\"" + s + "\"", raw(base(r), "stop", "\"" + s + "\""), Expect.INVALID);
            }
        }
        json("control", r, textPath(r) + "=<surrogate pair>", raw(base(r), textPath(r), "\"smile \\ud83d\\ude00\""), Expect.OK);
        json("control", r, textPath(r) + "=<\\u0000>", raw(base(r), textPath(r), "\"a\\u0000b\""), Expect.OK_OR_INVALID);
    }

    /** Bytes that are not UTF-8, inside the main text and between tokens, sent over a raw socket. */
    private void utf8(Route r) {
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("C0 80 (overlong NUL)", new byte[] {(byte) 0xC0, (byte) 0x80});
        bad.put("FF", new byte[] {(byte) 0xFF});
        bad.put("FE", new byte[] {(byte) 0xFE});
        bad.put("80 (lone continuation)", new byte[] {(byte) 0x80});
        bad.put("E2 82 (truncated)", new byte[] {(byte) 0xE2, (byte) 0x82});
        bad.put("C3 (truncated)", new byte[] {(byte) 0xC3});
        bad.put("ED A0 80 (encoded surrogate)", new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80});
        bad.put("F8 88 80 80 80 (5 bytes)", new byte[] {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80});
        bad.put("F4 90 80 80 (above U+10FFFF)", new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80});
        String body = raw(base(r), textPath(r), "\"" + RAW + "\"");
        int at = body.indexOf(RAW);
        bad.forEach((name, bytes) -> {
            byte[] inString = concat(body.substring(0, at).getBytes(StandardCharsets.UTF_8), bytes,
                    body.substring(at + RAW.length()).getBytes(StandardCharsets.UTF_8));
            rawCase("utf8", r, textPath(r) + " has " + name, RawHttp.request("POST", r.path, port, "application/json", inString), Expect.INVALID);
        });
        byte[] between = concat(new byte[] {'{', (byte) 0xFF}, base(r).toString().substring(1).getBytes(StandardCharsets.UTF_8));
        rawCase("utf8", r, "FF between tokens", RawHttp.request("POST", r.path, port, "application/json", between), Expect.INVALID);
    }

    static final List<String> HOSTILE_IDS = List.of("/etc/passwd", "../../etc/passwd", "..", ".", "/", "a/../../b",
            "%2e%2e/x", "..%2f..%2fetc%2fpasswd", "....//....//etc/passwd", "\u0000", "a\u0000b", "lora-name-max\u0000",
            "a\nb", "\u001b[31mred", "\u007f", "x".repeat(5_000), "s3://x", "http://x", "file:///etc/passwd", "~/x",
            "C:\\Windows\\win.ini", "\\\\host\\share", "no-such-adapter-xyz", " ", "lora-name-max/../../..");

    private void adapters(Route r) {
        if (!r.generates()) {
            return;
        }
        String path = r.shape == Shape.OPENAI ? "model" : "parameters.adapter_id";
        for (String id : HOSTILE_IDS) {
            if (r.shape == Shape.OPENAI && id.startsWith("http://")) {
                continue; // an http(s) URL as OpenAI's model means the server's default (@huggingface/inference's endpointUrl)
            }
            hostile(r, path + "=" + printable(id), set(base(r), path, TextNode.valueOf(id)).toString());
        }
        if (r.shape == Shape.LORAX) {
            for (String id : List.of("/etc/passwd", "..", "a/../../b", "x".repeat(5_000), "\u0000", "http://x")) {
                ObjectNode m = validMerge();
                ((ArrayNode) m.get("ids")).set(0, TextNode.valueOf(id));
                hostile(r, "merged_adapters.ids[0]=" + printable(id), set(base(r), "parameters.merged_adapters", m).toString());
            }
            for (String source : List.of("../local", "/etc", "LOCAL", "local\u0000", "x".repeat(5_000))) {
                json("adapter-source", r, "adapter_source=" + printable(source),
                        set(set(base(r), "parameters.adapter_id", TextNode.valueOf("lora-name-max")), "parameters.adapter_source",
                                TextNode.valueOf(source)).toString(), Expect.INVALID);
            }
        }
    }

    private void hostile(Route r, String detail, String body) {
        cases.add(new Case("adapter-id", r, detail, "POST", "application/json", body.getBytes(StandardCharsets.UTF_8),
                null, 0, Expect.ADAPTER_REFUSED, true));
    }

    /** merged_adapters that must be refused (and a few that must work), on the LoRAX routes. */
    private void merges() {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("ids=[]", "{\"ids\":[]}");
        bad.put("no ids", "{\"weights\":[1.0]}");
        bad.put("ids=null", "{\"ids\":null,\"weights\":[1.0]}");
        bad.put("weights 1 for 2 ids", "{\"ids\":[\"lora-name-max\",\"lora-name-sue\"],\"weights\":[1.0]}");
        bad.put("weights 3 for 2 ids", "{\"ids\":[\"lora-name-max\",\"lora-name-sue\"],\"weights\":[1.0,1.0,1.0]}");
        bad.put("weights NaN", "{\"ids\":[\"lora-name-max\",\"lora-name-sue\"],\"weights\":[NaN,1.0]}");
        bad.put("weights 1e309", "{\"ids\":[\"lora-name-max\",\"lora-name-sue\"],\"weights\":[1e309,1.0]}");
        bad.put("strategy unknown", "{\"ids\":[\"lora-name-max\",\"lora-name-sue\"],\"merge_strategy\":\"average\"}");
        bad.put("strategy empty", "{\"ids\":[\"lora-name-max\",\"lora-name-sue\"],\"merge_strategy\":\"\"}");
        bad.put("sign method unknown", "{\"ids\":[\"lora-name-max\",\"lora-name-sue\"],\"merge_strategy\":\"ties\",\"density\":0.5,\"majority_sign_method\":\"vote\"}");
        for (String strategy : List.of("linear", "ties", "dare_linear", "dare_ties")) {
            for (String density : List.of("0", "2", "-0.5", "NaN", "1e309", "1.0000001")) {
                bad.put(strategy + " density " + density, "{\"ids\":[\"lora-name-max\",\"lora-name-sue\"],\"weights\":[0.5,0.5],"
                        + "\"merge_strategy\":\"" + strategy + "\",\"density\":" + density + "}");
            }
        }
        bad.put("with adapter_id", null);
        Map<String, String> good = new LinkedHashMap<>();
        for (String strategy : List.of("linear", "ties", "dare_linear", "dare_ties")) {
            good.put(strategy + " density 0.5", "{\"ids\":[\"lora-name-max\",\"lora-name-sue\"],\"weights\":[0.7,0.3],"
                    + "\"merge_strategy\":\"" + strategy + "\",\"density\":0.5,\"majority_sign_method\":\"frequency\"}");
        }
        for (Route r : List.of(Route.GENERATE, Route.GENERATE_STREAM, Route.COMPAT)) {
            bad.forEach((name, merge) -> {
                String body = merge == null
                        ? set(set(base(r), "parameters.merged_adapters", validMerge()), "parameters.adapter_id", TextNode.valueOf("lora-name-sue")).toString()
                        : raw(base(r), "parameters.merged_adapters", merge);
                json("merge", r, name, body, Expect.INVALID);
            });
            good.forEach((name, merge) -> json("merge", r, name, raw(base(r), "parameters.merged_adapters", merge), Expect.OK));
        }
    }

    private void methodsAndMediaTypes(Route r) {
        if (r == Route.COMPAT_SSE) {
            return; // same path as COMPAT
        }
        byte[] body = base(r).toString().getBytes(StandardCharsets.UTF_8);
        for (String method : List.of("GET", "PUT", "DELETE", "PATCH")) {
            cases.add(new Case("method", r, "", method, "application/json", method.equals("GET") ? null : body, null, 0, Expect.METHOD, false));
        }
        for (String type : List.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz",
                "application/xml")) {
            cases.add(new Case("media-type", r, type, "POST", type, body, null, 0, Expect.MEDIA_TYPE, false));
        }
        for (String type : List.of("application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON")) {
            cases.add(new Case("media-type", r, type, "POST", type, body, null, 0, Expect.OK, false));
        }
    }

    /** Chunked framing and bodies over quarkus.http.limits.max-body-size, which need a raw socket. */
    private void framing(Route r) {
        if (r == Route.COMPAT_SSE) {
            return;
        }
        byte[] chunkedHead = RawHttp.head("POST", r.path, port, "Content-Type: application/json", "Transfer-Encoding: chunked");
        String body = base(r).toString();
        for (String sizeLine : List.of("zz", "-5", "ffffffffffffffffffff", "")) {
            rawCase("chunked", r, "size line \"" + sizeLine + "\"",
                    concat(chunkedHead, (sizeLine + "\r\n" + body + "\r\n0\r\n\r\n").getBytes(StandardCharsets.UTF_8)), Expect.BAD_REQUEST);
        }
        String good = Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n";
        rawCase("chunked", r, "well-formed", concat(chunkedHead, good.getBytes(StandardCharsets.UTF_8)), Expect.OK);
        long over = maxBodyBytes + 1;
        cases.add(new Case("too-large", r, "Content-Length " + over, "POST", "application/json", null,
                RawHttp.head("POST", r.path, port, "Content-Type: application/json", "Content-Length: " + over), over, Expect.TOO_LARGE, false));
        String chunkSize = Long.toHexString(over);
        cases.add(new Case("too-large", r, "chunked " + over, "POST", "application/json", null,
                concat(chunkedHead, (chunkSize + "\r\n").getBytes(StandardCharsets.US_ASCII)), over, Expect.TOO_LARGE, false));
    }

    // ---- helpers ------------------------------------------------------------------------------

    private void json(String family, Route r, String detail, String body, Expect e) {
        cases.add(new Case(family, r, detail, "POST", "application/json", body.getBytes(StandardCharsets.UTF_8), null, 0, e, false));
    }

    private void rawCase(String family, Route r, String detail, byte[] request, Expect e) {
        cases.add(new Case(family, r, detail, "POST", "application/json", null, request, 0, e, false));
    }

    /** {@code base} with the field at {@code path} set to a raw JSON literal (which may be invalid JSON). */
    static String raw(ObjectNode base, String path, String literal) {
        return set(base, path, TextNode.valueOf(RAW)).toString().replace("\"" + RAW + "\"", literal);
    }

    /** A copy of {@code base} with the field at a dotted path set ({@code #n} parts index arrays). */
    static ObjectNode set(ObjectNode base, String path, JsonNode value) {
        ObjectNode root = base.deepCopy();
        String[] parts = path.split("\\.");
        JsonNode node = root;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode next = child(node, parts[i]);
            if (next == null || !next.isContainerNode()) {
                next = parts[i + 1].startsWith("#") ? JSON.createArrayNode() : JSON.createObjectNode();
                put(node, parts[i], next);
            }
            node = next;
        }
        put(node, parts[parts.length - 1], value);
        return root;
    }

    private static JsonNode child(JsonNode node, String key) {
        return node.isArray() ? node.get(Integer.parseInt(key.substring(1))) : node.get(key);
    }

    private static void put(JsonNode node, String key, JsonNode value) {
        if (node instanceof ArrayNode a) {
            int i = Integer.parseInt(key.substring(1));
            while (a.size() <= i) {
                a.add("x");
            }
            a.set(i, value);
        } else {
            ((ObjectNode) node).set(key, value);
        }
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : (s.length() > 40 ? s.substring(0, 20) + "...(" + s.length() + " chars)" : s).toCharArray()) {
            sb.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return sb.toString();
    }

    private static String abbreviate(String body) {
        return printable(body.length() > 40 ? body.substring(0, 20) + "..." : body);
    }
}
