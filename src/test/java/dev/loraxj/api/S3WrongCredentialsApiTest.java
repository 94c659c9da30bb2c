package dev.loraxj.api;

import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A server whose S3 secret is wrong: s3 adapters fail with 424 naming the bucket, never the secret. */
@QuarkusTest
@WithTestResource(value = S3TestResources.class, initArgs = @ResourceArg(name = "secret", value = S3WrongCredentialsApiTest.WRONG))
class S3WrongCredentialsApiTest {

    static final String WRONG = "wrong-secret-that-must-never-be-shown";

    @TestHTTPResource("/")
    URI base;

    @Test
    void wrongCredentialsAreAClear424NamingTheBucket() {
        TestClient client = new TestClient(base);
        client.awaitReady();
        TestClient.Reply r = client.post("/generate", S3SourcesApiTest.body("s3", S3TestResources.MAX, "\"max_new_tokens\":2"));
        assertEquals(424, r.status(), r.body());
        String error = r.json().path("error").asText();
        assertTrue(error.contains("S3 refused access to bucket " + S3TestResources.BUCKET), error);
        assertFalse(r.body().contains(WRONG), r.body());
        // the local source is unaffected
        TestClient.Reply local = client.post("/generate", AdapterApiTest.local(AdapterApiTest.shared("lora-name-max"), "\"max_new_tokens\":8"));
        assertEquals(200, local.status(), local.body());
    }
}
