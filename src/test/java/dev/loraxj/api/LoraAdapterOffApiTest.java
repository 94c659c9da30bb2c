package dev.loraxj.api;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Without loraxj.adapters.runtime-registration the load and unload routes answer 404, as vLLM does without VLLM_ALLOW_RUNTIME_LORA_UPDATING. */
@QuarkusTest
class LoraAdapterOffApiTest {

    @TestHTTPResource("/")
    URI base;

    @Test
    void loadAndUnloadAreNotFoundUnlessTurnedOn() {
        TestClient client = new TestClient(base);
        client.awaitReady();
        TestClient.Reply load = client.post("/v1/load_lora_adapter", "{\"lora_name\":\"max\",\"lora_path\":\"lora-name-max\"}");
        assertEquals(404, load.status(), load.body());
        assertEquals("not_found", load.json().path("error").path("code").asText(), load.body());
        TestClient.Reply unload = client.post("/v1/unload_lora_adapter", "{\"lora_name\":\"max\"}");
        assertEquals(404, unload.status(), unload.body());
        assertFalse(client.get("/v1/models").body().contains("\"max\""), "nothing was registered");
        assertEquals(404, client.post("/v1/completions", "{\"model\":\"max\",\"prompt\":\"x\",\"max_tokens\":1}").status());
    }
}
