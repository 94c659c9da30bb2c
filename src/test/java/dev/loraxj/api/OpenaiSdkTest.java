package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAI API driven by the official OpenAI Java SDK against the running server, with its
 * numbers checked against LoRAX's /generate for the same prompt (stories260K, story template).
 */
@QuarkusTest
@TestProfile(OpenaiProfile.class)
class OpenaiSdkTest {

    /** What the story template renders for STORY, less the BOS text the tokenizer adds itself. */
    static final String PROMPT = "Once upon a time, there was a little girl";

    @TestHTTPResource("/")
    URI base;
    TestClient http;
    OpenAIClient openai;
    String model;

    @BeforeEach
    void connect() {
        http = new TestClient(base);
        http.awaitReady();
        openai = OpenAIOkHttpClient.builder().baseUrl(base.toString() + "v1").apiKey("sk-test").maxRetries(0).build();
        model = http.get("/info").json().path("model_id").asText();
    }

    @AfterEach
    void close() {
        openai.close();
    }

    static ChatCompletionCreateParams.Builder story(String model) {
        return ChatCompletionCreateParams.builder().model(model)
                .addSystemMessage("Tell a story.")
                .addUserMessage(PROMPT);
    }

    JsonNode lorax(String parameters) {
        TestClient.Reply r = http.post("/generate", GenerateApiTest.body(PROMPT, parameters));
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    @Test
    void greedyChatEqualsLoraxGenerateForTheRenderedPrompt() {
        ChatCompletion c = openai.chat().completions().create(story(model).temperature(0.0).maxCompletionTokens(20).build());
        JsonNode expected = lorax("\"max_new_tokens\":20,\"details\":true");
        assertEquals(expected.path("generated_text").asText(), c.choices().getFirst().message().content().orElseThrow());
        assertEquals("length", c.choices().getFirst().finishReason().asString());
        assertEquals(13, c.usage().orElseThrow().promptTokens(), "one BOS: the template's and the tokenizer's are not both kept");
        assertEquals(20, c.usage().orElseThrow().completionTokens());
        assertEquals(33, c.usage().orElseThrow().totalTokens());
        assertEquals(model, c.model());
    }

    @Test
    void streamedChatChunksConcatenateToTheWholeReply() {
        ChatCompletionCreateParams.Builder params = story(model).temperature(0.8).seed(5).maxCompletionTokens(40);
        String whole = openai.chat().completions().create(params.build()).choices().getFirst().message().content().orElseThrow();
        StringBuilder streamed = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> s = openai.chat().completions().createStreaming(
                params.streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            s.stream().forEach(chunk -> {
                chunks.add(chunk);
                chunk.choices().forEach(ch -> streamed.append(ch.delta().content().orElse("")));
            });
        }
        assertEquals(whole, streamed.toString());
        assertEquals("assistant", chunks.getFirst().choices().getFirst().delta().role().orElseThrow().asString());
        ChatCompletionChunk last = chunks.getLast();
        assertTrue(last.choices().isEmpty(), "the usage chunk has no choices");
        assertEquals(40, last.usage().orElseThrow().completionTokens());
        assertEquals("length", chunks.get(chunks.size() - 2).choices().getFirst().finishReason().orElseThrow().asString());
    }

    @Test
    void chatWithTheAdapterAsModelStreamsMaxsStory() {
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = openai.chat().completions()
                .createStreaming(story("lora-name-max").temperature(0.0).maxCompletionTokens(8).build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> text.append(ch.delta().content().orElse(""))));
        }
        assertTrue(text.toString().startsWith(" named Max"), text.toString());
        String base = openai.chat().completions().create(story(model).temperature(0.0).maxCompletionTokens(8).build())
                .choices().getFirst().message().content().orElseThrow();
        assertTrue(base.startsWith(" named Lily"), base);
    }

    @Test
    void chatLogprobsEqualLoraxDetails() {
        ChatCompletion c = openai.chat().completions().create(story(model).temperature(0.0).maxCompletionTokens(10)
                .logprobs(true).topLogprobs(3).build());
        List<ChatCompletionTokenLogprob> content = c.choices().getFirst().logprobs().orElseThrow().content().orElseThrow();
        JsonNode tokens = lorax("\"max_new_tokens\":10,\"details\":true").path("details").path("tokens");
        assertEquals(tokens.size(), content.size());
        for (int i = 0; i < content.size(); i++) {
            // 1e-6: the same float through JSON as float vs double
            assertEquals(tokens.get(i).path("logprob").asDouble(), content.get(i).logprob(), 1e-6, "token " + i);
            assertEquals(tokens.get(i).path("text").asText(), content.get(i).token());
            assertEquals(3, content.get(i).topLogprobs().size());
            assertEquals(content.get(i).logprob(), content.get(i).topLogprobs().getFirst().logprob(), 1e-6, "greedy picks the top token");
        }
    }

    @Test
    void nChoicesWithASeedAreReproducibleAndChoiceIUsesSeedPlusI() {
        ChatCompletionCreateParams params = story(model).temperature(0.9).seed(42).n(3).maxCompletionTokens(12).build();
        ChatCompletion first = openai.chat().completions().create(params);
        ChatCompletion again = openai.chat().completions().create(params);
        assertEquals(3, first.choices().size());
        for (int i = 0; i < 3; i++) {
            String text = first.choices().get(i).message().content().orElseThrow();
            assertEquals(i, first.choices().get(i).index());
            assertEquals(text, again.choices().get(i).message().content().orElseThrow());
            assertEquals(lorax("\"max_new_tokens\":12,\"do_sample\":true,\"temperature\":0.9,\"seed\":" + (42 + i))
                    .path("generated_text").asText(), text, "choice " + i);
        }
        assertEquals(36, first.usage().orElseThrow().completionTokens());
        assertEquals(13, first.usage().orElseThrow().promptTokens(), "the prompt counts once");
    }

    @Test
    void completionsGreedyTextAndLogprobsEqualLoraxDetails() {
        Completion c = openai.completions().create(CompletionCreateParams.builder().model(model).prompt(PROMPT)
                .temperature(0.0).maxTokens(10).logprobs(2).build());
        JsonNode expected = lorax("\"max_new_tokens\":10,\"details\":true");
        CompletionChoice choice = c.choices().getFirst();
        assertEquals(expected.path("generated_text").asText(), choice.text());
        List<Double> logprobs = choice.logprobs().orElseThrow().tokenLogprobs().orElseThrow();
        JsonNode tokens = expected.path("details").path("tokens");
        for (int i = 0; i < tokens.size(); i++) {
            assertEquals(tokens.get(i).path("logprob").asDouble(), logprobs.get(i), 1e-6, "token " + i);
        }
        assertEquals(String.join("", choice.logprobs().orElseThrow().tokens().orElseThrow()), choice.text());
        assertEquals("length", choice.finishReason().asString());
        assertEquals(10, c.usage().orElseThrow().completionTokens());
    }

    @Test
    void completionsStreamConcatenatesToTheWholeText() {
        CompletionCreateParams params = CompletionCreateParams.builder().model(model).prompt(PROMPT)
                .temperature(0.7).seed(11).maxTokens(30).build();
        String whole = openai.completions().create(params).choices().getFirst().text();
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> s = openai.completions().createStreaming(params)) {
            s.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertEquals(whole, streamed.toString());
    }

    @Test
    void modelsListsTheBaseModelAndTheAdaptersInMemory() {
        openai.chat().completions().create(story("lora-name-sue").temperature(0.0).maxCompletionTokens(2).build());
        List<String> ids = openai.models().list().data().stream().map(Model::id).toList();
        assertEquals(model, ids.getFirst());
        assertTrue(ids.contains("lora-name-sue"), ids.toString());
    }

    @Test
    void anUnknownModelIs404() {
        NotFoundException chat = assertThrows(NotFoundException.class, () -> openai.chat().completions()
                .create(story("no-such-adapter").maxCompletionTokens(2).build()));
        assertEquals("model", chat.param().orElseThrow());
        assertEquals("model_not_found", chat.code().orElseThrow());
        assertThrows(NotFoundException.class, () -> openai.completions().create(CompletionCreateParams.builder()
                .model("no-such-adapter").prompt(PROMPT).maxTokens(2).build()));
    }

    @Test
    void aBadParameterIs400NamingIt() {
        BadRequestException temperature = assertThrows(BadRequestException.class, () -> openai.chat().completions()
                .create(story(model).temperature(3.0).build()));
        assertEquals("temperature", temperature.param().orElseThrow());
        assertEquals("invalid_request_error", temperature.type().orElseThrow());
        BadRequestException tokens = assertThrows(BadRequestException.class, () -> openai.completions().create(
                CompletionCreateParams.builder().model(model).prompt(PROMPT).maxTokens(100_000).build()));
        assertEquals("max_tokens", tokens.param().orElseThrow(), "the engine's max_new_tokens, by OpenAI's name");
        assertFalse(tokens.getMessage().contains("max_new_tokens"), tokens.getMessage());
    }
}
