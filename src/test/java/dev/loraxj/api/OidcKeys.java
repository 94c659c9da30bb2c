package dev.loraxj.api;

import dev.loraxj.TestFiles;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.smallrye.jwt.build.Jwt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Set;

/** An RSA key pair made for the run, standing in for an identity provider: quarkus.oidc trusts its public key. */
public class OidcKeys implements QuarkusTestResourceLifecycleManager {

    static final String ISSUER = "https://issuer.loraxj.test";
    static final String ROLE = "generate";
    static volatile KeyPair pair;
    static volatile Path log;

    @Override
    public Map<String, String> start() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            pair = g.generateKeyPair();
            log = TestFiles.file("loraxj-oidc", ".log");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.ofEntries(
                Map.entry("quarkus.oidc.tenant-enabled", "true"),
                Map.entry("quarkus.oidc.public-key", Base64.getEncoder().encodeToString(pair.getPublic().getEncoded())),
                Map.entry("quarkus.oidc.token.issuer", ISSUER),
                Map.entry("loraxj.auth.oidc.required-role", ROLE),
                Map.entry("loraxj.auth.api-keys", OidcAuthApiTest.KEY),
                Map.entry("quarkus.log.file.enabled", "true"),
                Map.entry("quarkus.log.file.path", log.toString()),
                Map.entry("quarkus.log.file.level", "DEBUG"),
                Map.entry("quarkus.log.category.\"dev.loraxj\".level", "DEBUG"),
                Map.entry("quarkus.log.category.\"io.quarkus.oidc\".level", "DEBUG"),
                Map.entry("quarkus.log.category.\"io.quarkus.security\".level", "DEBUG"));
    }

    /** A token from ISSUER for user alice with these roles (the groups claim), valid for a minute. */
    static String token(String... roles) {
        return token(ISSUER, Instant.now().plusSeconds(60), roles);
    }

    static String token(String issuer, Instant expires, String... roles) {
        return Jwt.issuer(issuer).upn("alice").groups(Set.of(roles)).issuedAt(expires.minusSeconds(120)).expiresAt(expires)
                .sign(pair.getPrivate());
    }

    @Override
    public void stop() {
    }
}
