package dev.loraxj.api;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * OIDC bearer tokens, verified against a public key (no identity provider), together with an API
 * key: a valid token with the required role passes, an expired one or another issuer's is 401, a
 * valid one without the role 403; the API key passes as well.
 */
@QuarkusTest
@TestProfile(OidcAuthApiTest.Oidc.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OidcAuthApiTest {

    static final String KEY = "lx-oidc-side-key_3b7e0d";
    static final String BODY = "{\"inputs\":\"Once upon a time\",\"parameters\":{\"max_new_tokens\":4}}";
    static final String CHAT = "{\"model\":\"\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}]}";
    static final List<String> issued = new ArrayList<>();

    public static class Oidc implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(OidcKeys.class));
        }
    }

    @TestHTTPResource("/")
    URI base;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void ready() {
        new TestClient(base).awaitReady();
    }

    TestClient.Reply post(String path, String body, String bearer) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body));
            if (bearer != null) {
                issued.add(bearer);
                b.header("Authorization", "Bearer " + bearer);
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new TestClient.Reply(r.statusCode(), r.body(), r.headers());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    @Order(0)
    void aValidTokenWithTheRolePasses() {
        String token = OidcKeys.token(OidcKeys.ROLE, "other");
        TestClient.Reply r = post("/generate", BODY, token);
        assertEquals(200, r.status(), r.body());
        assertFalse(r.json().path("generated_text").asText().isEmpty());
        TestClient.Reply chat = post("/v1/chat/completions", CHAT, token);
        assertEquals(200, chat.status(), chat.body());
        TestClient.Reply stream = post("/generate_stream", BODY, token);
        assertEquals(200, stream.status(), stream.body());
        assertTrue(stream.body().contains("generated_text"), stream.body());
    }

    @Test
    @Order(1)
    void anApiKeyPassesBesideOidc() {
        TestClient.Reply r = post("/generate", BODY, KEY);
        assertEquals(200, r.status(), r.body());
    }

    @Test
    @Order(2)
    void anExpiredTokenOrAnotherIssuersIsRefusedWith401() {
        for (String token : List.of(OidcKeys.token(OidcKeys.ISSUER, Instant.now().minusSeconds(600), OidcKeys.ROLE),
                OidcKeys.token("https://someone-else.test", Instant.now().plusSeconds(60), OidcKeys.ROLE), "not-a-jwt")) {
            TestClient.Reply r = post("/generate", BODY, token);
            assertEquals(401, r.status(), r.body());
            assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
            assertEquals("unauthorized", r.json().path("error_type").asText(), r.body());
            TestClient.Reply chat = post("/v1/chat/completions", CHAT, token);
            assertEquals(401, chat.status(), chat.body());
            assertEquals("authentication_error", chat.json().path("error").path("type").asText(), chat.body());
        }
        assertEquals(401, post("/generate", BODY, null).status());
    }

    @Test
    @Order(3)
    void aValidTokenWithoutTheRoleIsRefusedWith403() {
        String token = OidcKeys.token("reader");
        TestClient.Reply r = post("/generate", BODY, token);
        assertEquals(403, r.status(), r.body());
        assertEquals("forbidden", r.json().path("error_type").asText(), r.body());
        TestClient.Reply chat = post("/v1/chat/completions", CHAT, token);
        assertEquals(403, chat.status(), chat.body());
        assertEquals("permission_error", chat.json().path("error").path("type").asText(), chat.body());
    }

    @Test
    @Order(100)
    void noTokenOrKeyAppearsInTheLog() throws Exception {
        String logged = Files.readString(OidcKeys.log);
        assertTrue(logged.contains("server authentication is on: 1 API key(s), OIDC bearer tokens with role generate"), logged);
        assertFalse(issued.isEmpty());
        for (String secret : issued) {
            assertFalse(logged.contains(secret), "a token or key leaked into the log");
            // a JWT's signature alone is secret enough to look for
            String tail = secret.substring(secret.lastIndexOf('.') + 1);
            assertFalse(tail.length() > 16 && logged.contains(tail), "a token's signature leaked into the log");
        }
    }
}
