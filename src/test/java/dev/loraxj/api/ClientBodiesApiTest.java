package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The request bodies real clients send, byte for byte as they build them, answered as those
 * clients expect.
 */
@QuarkusTest
@TestProfile(OpenaiProfile.class)
class ClientBodiesApiTest {

    static final String PROMPT = OpenaiSdkTest.PROMPT;

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    /** The base model's greedy text, through LoRAX's own route. */
    String greedy(int tokens) {
        return client.post("/generate", GenerateApiTest.body(PROMPT, "\"max_new_tokens\":" + tokens)).json().path("generated_text").asText();
    }

    @Test
    void huggingfaceInferenceWithAnEndpointUrlGetsTheServersDefault() {
        String endpoint = base.toString().replaceAll("/$", "");
        String expected = greedy(12);
        // @huggingface/inference 4.x textGeneration({endpointUrl, inputs, parameters: {max_new_tokens: 12, temperature: 0}})
        for (String url : List.of(endpoint, endpoint + "/v1", "https://my-endpoint.example.com")) {
            TestClient.Reply r = client.post("/v1/completions", "{\"model\":" + GenerateApiTest.quote(url)
                    + ",\"max_tokens\":12,\"temperature\":0,\"prompt\":" + GenerateApiTest.quote(PROMPT) + "}");
            assertEquals(200, r.status(), url + ": " + r.body());
            assertEquals(expected, r.json().path("choices").get(0).path("text").asText(), url);
            assertEquals("stories260K", r.json().path("model").asText(), "the served name, not the URL");
        }
        // textGenerationStream: the same body with stream: true
        TestClient.Reply s = client.post("/v1/completions", "{\"model\":" + GenerateApiTest.quote(endpoint)
                + ",\"max_tokens\":12,\"temperature\":0,\"prompt\":" + GenerateApiTest.quote(PROMPT) + ",\"stream\":true}");
        assertEquals(200, s.status(), s.body());
        assertEquals(expected, OpenaiWireTest.text(TestClient.sseEvents(s.body().replace("data: [DONE]", ""))));
        // chatCompletion({endpointUrl, messages, max_tokens: 12, temperature: 0}) posts to /v1/chat/completions
        TestClient.Reply c = client.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":"
                + GenerateApiTest.quote(PROMPT) + "}],\"max_tokens\":12,\"temperature\":0,\"model\":" + GenerateApiTest.quote(endpoint) + "}");
        assertEquals(200, c.status(), c.body());
        assertEquals(expected, c.json().path("choices").get(0).path("message").path("content").asText(),
                "the story template renders the user's text as the prompt");
    }

    /** LoRAX's Python client: pydantic's request.dict(), every field present, unset ones null (lorax/types.py). */
    static String loraxClientBody(boolean stream) {
        return "{\"inputs\":" + GenerateApiTest.quote(PROMPT) + ",\"parameters\":{\"adapter_id\":null,\"adapter_source\":null,"
                + "\"merged_adapters\":null,\"api_token\":null,\"do_sample\":false,\"max_new_tokens\":12,\"ignore_eos_token\":false,"
                + "\"repetition_penalty\":null,\"return_full_text\":false,\"stop\":[],\"seed\":null,\"temperature\":null,"
                + "\"top_k\":null,\"top_p\":null,\"truncate\":null,\"typical_p\":null,\"best_of\":null,\"watermark\":false,"
                + "\"details\":true,\"decoder_input_details\":false,\"return_k_alternatives\":null,\"response_format\":null},"
                + "\"stream\":" + stream + "}";
    }

    @Test
    void loraxsPythonClientBodiesWork() {
        String expected = greedy(12);
        TestClient.Reply whole = client.post("/", loraxClientBody(false));
        assertEquals(200, whole.status(), whole.body());
        assertEquals(expected, whole.json().get(0).path("generated_text").asText());
        TestClient.Reply streamed = client.post("/", loraxClientBody(true));
        assertEquals(200, streamed.status(), streamed.body());
        List<JsonNode> events = TestClient.sseEvents(streamed.body());
        assertEquals(expected, events.get(events.size() - 1).path("generated_text").asText());
        // huggingface_hub's text_generation (TGI's names, some LoRAX does not implement, at their defaults)
        TestClient.Reply tgi = client.post("/generate", "{\"inputs\":" + GenerateApiTest.quote(PROMPT) + ",\"parameters\":{"
                + "\"adapter_id\":null,\"best_of\":null,\"decoder_input_details\":false,\"details\":false,\"do_sample\":false,"
                + "\"frequency_penalty\":null,\"grammar\":null,\"max_new_tokens\":12,\"repetition_penalty\":null,"
                + "\"return_full_text\":false,\"seed\":null,\"stop\":[],\"temperature\":null,\"top_k\":null,"
                + "\"top_n_tokens\":null,\"top_p\":null,\"truncate\":null,\"typical_p\":null,\"watermark\":false},\"stream\":false}");
        assertEquals(200, tgi.status(), tgi.body());
        assertEquals(expected, tgi.json().path("generated_text").asText());
    }

    @Test
    void openaiSdkBodiesWork() {
        String expected = greedy(12);
        String messages = "[{\"role\":\"user\",\"content\":" + GenerateApiTest.quote(PROMPT) + "}]";
        // openai-python: only what the caller set
        TestClient.Reply py = client.post("/v1/chat/completions", "{\"messages\":" + messages + ",\"model\":\"stories260K\",\"max_tokens\":12,\"temperature\":0}");
        assertEquals(200, py.status(), py.body());
        assertEquals(expected, py.json().path("choices").get(0).path("message").path("content").asText());
        // @langchain/openai's ChatOpenAI: its defaults spelled out, streamed with usage
        TestClient.Reply lc = client.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"temperature\":0,\"top_p\":1,"
                + "\"frequency_penalty\":0,\"presence_penalty\":0,\"n\":1,\"max_tokens\":12,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"messages\":" + messages + "}");
        assertEquals(200, lc.status(), lc.body());
        assertEquals(expected, OpenaiWireTest.text(TestClient.sseEvents(lc.body().replace("data: [DONE]", ""))));
        // a conversation sent back as the SDKs return it: assistant messages carry refusal, annotations, audio
        TestClient.Reply echo = client.post("/v1/chat/completions", "{\"model\":\"\",\"max_tokens\":2,\"temperature\":0,"
                + "\"tool_choice\":\"none\",\"store\":false,\"service_tier\":\"auto\",\"prompt_cache_key\":\"k\",\"messages\":["
                + "{\"role\":\"user\",\"content\":\"Once upon a time\"},"
                + "{\"role\":\"assistant\",\"content\":\"there was\",\"refusal\":null,\"annotations\":[],\"audio\":null},"
                + "{\"role\":\"user\",\"content\":\"a girl\"}]}");
        assertEquals(200, echo.status(), echo.body());
        // openai-python's completions, streamed
        TestClient.Reply c = client.post("/v1/completions", "{\"model\":\"\",\"prompt\":" + GenerateApiTest.quote(PROMPT)
                + ",\"max_tokens\":12,\"temperature\":0,\"stream\":true}");
        assertEquals(200, c.status(), c.body());
        assertEquals(expected, OpenaiWireTest.text(TestClient.sseEvents(c.body().replace("data: [DONE]", ""))));
    }

    @Test
    void huggingfaceTextGenerationWithTgiParametersWorks() {
        String endpoint = base.toString().replaceAll("/$", "");
        // textGeneration({endpointUrl, inputs, parameters: {max_new_tokens, temperature: 0, return_full_text: false, details: false}})
        TestClient.Reply r = client.post("/v1/completions", "{\"model\":" + GenerateApiTest.quote(endpoint)
                + ",\"max_tokens\":12,\"temperature\":0,\"return_full_text\":false,\"details\":false,\"watermark\":false,"
                + "\"prompt\":" + GenerateApiTest.quote(PROMPT) + "}");
        assertEquals(200, r.status(), r.body());
        assertEquals(greedy(12), r.json().path("choices").get(0).path("text").asText());
    }

    @Test
    void aTypoIsRefusedNamingItAndTheParameterItMeant() {
        TestClient.Reply lorax = client.post("/generate", GenerateApiTest.body(PROMPT, "\"max_new_token\":5"));
        assertEquals(422, lorax.status(), lorax.body());
        assertEquals("validation", lorax.json().path("error_type").asText());
        assertEquals("`parameters.max_new_token` is not a known parameter; did you mean `max_new_tokens`?", lorax.json().path("error").asText());
        TestClient.Reply top = client.post("/generate", "{\"input\":\"a\"}");
        assertEquals(422, top.status(), top.body());
        assertTrue(top.json().path("error").asText().startsWith("`input` is not a known parameter; did you mean `inputs`?"), top.body());

        TestClient.Reply completions = client.post("/v1/completions", "{\"model\":\"\",\"prompt\":\"a\",\"max_token\":5}");
        assertEquals(400, completions.status(), completions.body());
        JsonNode error = completions.json().path("error");
        assertEquals("max_token", error.path("param").asText());
        assertEquals("`max_token` is not a known parameter; did you mean `max_tokens`?", error.path("message").asText());
        // a LoRAX name on OpenAI's route is not renamed into OpenAI's: it is what was sent
        TestClient.Reply tgiName = client.post("/v1/chat/completions", "{\"model\":\"\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"max_new_tokens\":5}");
        assertEquals(400, tgiName.status(), tgiName.body());
        assertEquals("max_new_tokens", tgiName.json().path("error").path("param").asText());
        assertTrue(tgiName.json().path("error").path("message").asText().startsWith("`max_new_tokens` is not a known parameter"), tgiName.body());
    }

    @Test
    void knownParametersWeDoNotImplementAreRefusedUnlessUnused() {
        for (String p : List.of("\"watermark\":true", "\"top_n_tokens\":3")) { // TGI's grammar is implemented (ToolsApiTest)
            TestClient.Reply r = client.post("/generate", GenerateApiTest.body(PROMPT, "\"max_new_tokens\":2," + p));
            assertEquals(422, r.status(), p + ": " + r.body());
            String name = p.substring(1, p.indexOf('"', 1));
            assertTrue(r.json().path("error").asText().contains("`" + name + "`"), r.body());
        }
        for (String p : List.of("\"audio\":{\"voice\":\"alloy\",\"format\":\"mp3\"}", "\"modalities\":[\"text\",\"audio\"]",
                "\"tool_choice\":\"required\"", "\"store\":true", "\"reasoning_effort\":\"low\"")) {
            TestClient.Reply r = client.post("/v1/chat/completions", "{\"model\":\"\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"max_tokens\":2," + p + "}");
            assertEquals(400, r.status(), p + ": " + r.body());
            String name = p.substring(1, p.indexOf('"', 1));
            assertEquals(name, r.json().path("error").path("param").asText(), r.body());
        }
        TestClient.Reply greedyOnly = client.post("/v1/completions", "{\"model\":\"\",\"prompt\":\"a\",\"do_sample\":false}");
        assertEquals(400, greedyOnly.status(), greedyOnly.body());
        assertTrue(greedyOnly.json().path("error").path("message").asText().contains("`temperature` to 0"), greedyOnly.body());
    }
}
