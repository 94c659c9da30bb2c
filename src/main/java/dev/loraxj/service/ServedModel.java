package dev.loraxj.service;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The base model's names: {@code name} (loraxj.served-model-name, else the last segment of the
 * model directory or Hub repo) is what the server reports; requests may also use the full
 * {@code id} as configured. Either one, as an adapter id or an OpenAI {@code model}, means no adapter.
 */
public record ServedModel(String name, String id) {

    public static ServedModel of(String modelId, Optional<String> servedName) {
        return new ServedModel(servedName.filter(n -> !n.isBlank()).orElseGet(() -> lastSegment(modelId)), modelId);
    }

    /** True when {@code model} names the base model (its served name or its full id). */
    public boolean names(String model) {
        return model != null && (model.equals(name) || model.equals(id) || strip(model).equals(strip(id)));
    }

    /** "../shared/models/stories260K" and "org/repo" give "stories260K" and "repo"; "." the directory's own name. */
    static String lastSegment(String modelId) {
        String s = strip(modelId);
        String last = s.substring(s.lastIndexOf('/') + 1);
        if (!last.isEmpty() && !last.equals(".") && !last.equals("..")) {
            return last;
        }
        Path name = Path.of(s.isEmpty() ? "/" : s).toAbsolutePath().normalize().getFileName();
        return name == null ? modelId : name.toString();
    }

    private static String strip(String s) {
        int end = s.length();
        while (end > 1 && s.charAt(end - 1) == '/') {
            end--;
        }
        return s.substring(0, end);
    }
}
