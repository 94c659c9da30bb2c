package dev.loraxj.api;

import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The server's API keys, held only as SHA-256 digests: a presented key is hashed and compared with
 * every digest in constant time, so neither its content nor which key matched shows in the timing.
 */
final class ApiKeys {

    private static final Logger LOG = Logger.getLogger(ApiKeys.class);

    private final List<byte[]> digests;

    private ApiKeys(List<byte[]> digests) {
        this.digests = List.copyOf(digests);
    }

    /** The keys of {@code loraxj.auth.api-keys} and of the file, if any; blank lines and {@code #} comments are skipped. */
    static ApiKeys of(Optional<List<String>> keys, Optional<String> file) {
        return of(keys, file, false);
    }

    /** As above; a missing file is an error unless {@code optional} (loraxj.auth.api-keys-file-optional). */
    static ApiKeys of(Optional<List<String>> keys, Optional<String> file, boolean optional) {
        List<byte[]> digests = new ArrayList<>();
        keys.orElse(List.of()).stream().map(String::trim).filter(k -> !k.isEmpty()).forEach(k -> digests.add(sha256(k)));
        if (file.isPresent() && !file.get().isBlank()) {
            Path path = Path.of(file.get());
            if (!Files.exists(path)) {
                if (!optional) { // fail closed: a mistyped path must not leave the server open
                    throw new IllegalStateException("loraxj.auth.api-keys-file " + path + " does not exist; set"
                            + " loraxj.auth.api-keys-file-optional=true if it may be absent (an optionally mounted Secret)");
                }
                LOG.warnf("loraxj.auth.api-keys-file %s does not exist (optional): no API keys from it", path);
                return new ApiKeys(digests);
            }
            try {
                for (String line : Files.readAllLines(path, StandardCharsets.UTF_8)) {
                    String k = line.trim();
                    if (!k.isEmpty() && !k.startsWith("#")) {
                        digests.add(sha256(k));
                    }
                }
            } catch (IOException e) {
                // the path only, never the content
                throw new UncheckedIOException("loraxj.auth.api-keys-file " + path + " cannot be read: " + e.getClass().getSimpleName(), e);
            }
        }
        return new ApiKeys(digests);
    }

    boolean enabled() {
        return !digests.isEmpty();
    }

    int size() {
        return digests.size();
    }

    /** Whether the presented key is one of the server's; every digest is compared, whatever matched first. */
    boolean matches(String presented) {
        if (presented == null || presented.isEmpty()) {
            return false;
        }
        byte[] d = sha256(presented.trim());
        boolean found = false;
        for (byte[] k : digests) {
            found |= MessageDigest.isEqual(k, d);
        }
        return found;
    }

    private static byte[] sha256(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
