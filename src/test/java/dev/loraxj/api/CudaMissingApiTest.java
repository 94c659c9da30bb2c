package dev.loraxj.api;

import dev.loraxj.backend.cuda.CudaBackend;
import dev.loraxj.backend.cuda.CudaProbe;
import org.junit.jupiter.api.Assumptions;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** loraxj.device=cuda where it cannot run (no device, or a backend that cannot run): the server says why on every route, and stays down. */
@QuarkusTest
@TestProfile(CudaMissingApiTest.Cuda.class)
class CudaMissingApiTest {

    public static class Cuda implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.device", "cuda");
        }
    }

    @TestHTTPResource("/")
    URI base;

    @Test
    void everyRouteAnswers503WithTheDriversAnswer() throws Exception {
        Assumptions.assumeFalse(CudaProbe.probe().present() && CudaBackend.unavailable() == null,
                "a CUDA device answers and the JCuda backend loads here: nothing is missing");
        TestClient client = new TestClient(base);
        TestClient.Reply gen = null;
        for (int i = 0; i < 100; i++) { // bounded: the load fails in milliseconds
            gen = client.post("/generate", "{\"inputs\":\"hi\"}");
            if (gen.body().contains("failed to load")) {
                break;
            }
            Thread.sleep(50);
        }
        assertEquals(503, gen.status(), gen.body());
        String error = gen.json().path("error").asText();
        CudaProbe.Answer answer = CudaProbe.probe();
        String why = answer.present() ? answer.device() + " answers, but the CUDA backend cannot run" : answer.reason();
        assertTrue(error.startsWith("model failed to load: loraxj.device=cuda"), error);
        assertTrue(error.contains(why), error + " should say " + why);
        assertEquals(503, client.get("/info").status());
        assertEquals(503, client.get("/health").status());
    }
}
