package dev.loraxj.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.type.LogicalType;
import dev.loraxj.service.ValidationException;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;
import java.util.stream.Collectors;

/**
 * The wire's JSON: snake_case names, and strict types (a number where a string belongs is a
 * 422 naming the field, not a silent coercion). A request naming a parameter its route does not
 * know is refused, naming it (a typo would otherwise run silently with the default); the names
 * clients send that the server accepts unused are in {@link DefaultOnlyParameters}. Records that
 * clients echo back or extend freely (chat messages, stream options) ignore unknown fields.
 */
public final class Json {

    public static final ObjectMapper MAPPER = create();
    private static final ObjectMapper REQUESTS = MAPPER.copy()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
            .addHandler(new DefaultOnlyParameters());

    private Json() {
    }

    private static ObjectMapper create() {
        ObjectMapper m = new ObjectMapper();
        m.setPropertyNamingStrategy(new SnakeCase());
        m.configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
        m.configure(DeserializationFeature.ACCEPT_FLOAT_AS_INT, false);
        m.configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true);
        for (LogicalType t : new LogicalType[] {LogicalType.Textual, LogicalType.Integer, LogicalType.Float, LogicalType.Boolean}) {
            m.coercionConfigFor(t)
                    .setCoercion(CoercionInputShape.String, t == LogicalType.Textual ? CoercionAction.TryConvert : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Integer, t == LogicalType.Integer || t == LogicalType.Float ? CoercionAction.TryConvert : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, t == LogicalType.Float ? CoercionAction.TryConvert : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, t == LogicalType.Boolean ? CoercionAction.TryConvert : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.EmptyString, t == LogicalType.Textual ? CoercionAction.TryConvert : CoercionAction.Fail);
        }
        return m;
    }

    /**
     * camelCase to snake_case, one underscore per capital: returnKAlternatives -> return_k_alternatives.
     * Public: the OpenAPI scanner names the documented fields with it too.
     */
    public static final class SnakeCase extends PropertyNamingStrategies.NamingBase {
        public SnakeCase() {
        }

        @Override
        public String translate(String name) {
            StringBuilder sb = new StringBuilder(name.length() + 8);
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (Character.isUpperCase(c)) {
                    sb.append('_').append(Character.toLowerCase(c));
                } else {
                    sb.append(c);
                }
            }
            return sb.toString();
        }
    }

    /**
     * Parses a request body; a malformed or mistyped body, or one whose text is not Unicode
     * ({@link JsonText}), is a ValidationException naming the field.
     */
    public static <T> T parse(Buffer body, Class<T> type) {
        if (body == null || body.length() == 0) {
            throw new ValidationException("request body is empty: expected a JSON object");
        }
        byte[] bytes = body.getBytes();
        JsonText.check(bytes);
        T value;
        try {
            value = REQUESTS.readValue(bytes, type);
        } catch (UnrecognizedPropertyException e) {
            throw unknown(e);
        } catch (MismatchedInputException e) {
            String field = path(e);
            if (field.isEmpty()) {
                throw new ValidationException("request body must be a JSON object");
            }
            throw new ValidationException("`" + field + "` has the wrong type: " + expected(e));
        } catch (JsonMappingException e) {
            if (e.getCause() instanceof ValidationException v) { // from DefaultOnlyParameters
                throw v;
            }
            String field = path(e);
            throw new ValidationException(field.isEmpty() ? "invalid request: " + e.getOriginalMessage()
                    : "`" + field + "` is invalid: " + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            throw new ValidationException("request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ValidationException("cannot read request body: " + e.getMessage());
        }
        if (value == null) { // the body was JSON's null
            throw new ValidationException("request body must be a JSON object");
        }
        return value;
    }

    public static Buffer write(Object value) {
        try {
            return Buffer.buffer(MAPPER.writeValueAsBytes(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + value.getClass().getSimpleName(), e);
        }
    }

    /** The unknown name with its path, and the known name it most likely meant. */
    private static UnknownParameterException unknown(UnrecognizedPropertyException e) {
        String field = path(e);
        String name = e.getPropertyName();
        String closest = null;
        int best = 3; // up to two edits: max_new_token, max_token, temprature
        for (Object known : e.getKnownPropertyIds() == null ? java.util.List.of() : e.getKnownPropertyIds()) {
            int d = editDistance(name, known.toString());
            if (d < best) {
                best = d;
                closest = known.toString();
            }
        }
        return new UnknownParameterException(name, "`" + (field.isEmpty() ? name : field) + "` is not a known parameter"
                + (closest == null ? "" : "; did you mean `" + closest + "`?"));
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static String path(JsonMappingException e) {
        return e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining("."))
                .replace(".[", "[");
    }

    private static String expected(MismatchedInputException e) {
        Class<?> t = e.getTargetType();
        if (t == null) {
            return "unexpected value";
        }
        if (t == String.class) {
            return "expected a string";
        }
        if (t == Integer.class || t == int.class || t == Long.class || t == long.class) {
            return "expected an integer";
        }
        if (t == Float.class || t == float.class || t == Double.class || t == double.class) {
            return "expected a number";
        }
        if (t == Boolean.class || t == boolean.class) {
            return "expected a boolean";
        }
        if (java.util.List.class.isAssignableFrom(t)) {
            return "expected an array";
        }
        return "expected " + (t.isRecord() ? "an object" : t.getSimpleName());
    }
}
