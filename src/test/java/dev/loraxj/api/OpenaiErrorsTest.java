package dev.loraxj.api;

import dev.loraxj.adapter.AdapterAccessException;
import dev.loraxj.adapter.AdapterException;
import dev.loraxj.adapter.AdapterNotFoundException;
import dev.loraxj.engine.EngineException;
import dev.loraxj.model.ChatTemplateException;
import dev.loraxj.service.NotReadyException;
import dev.loraxj.service.OverloadedException;
import dev.loraxj.service.ValidationException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every failure gets OpenAI's status, type and param; the engine's field names become OpenAI's. */
class OpenaiErrorsTest {

    static OpenaiWire.ErrorDetail detail(OpenaiErrors e) {
        return e.body().error();
    }

    @Test
    void validationMessagesUseOpenaisNames() {
        OpenaiErrors e = OpenaiErrors.of(new ValidationException("`max_new_tokens`: `inputs` tokens + `max_new_tokens` must be <= 512"),
                OpenaiErrors.Names.CHAT);
        assertEquals(400, e.status());
        assertEquals("`max_tokens`: `messages` tokens + `max_tokens` must be <= 512", detail(e).message());
        assertEquals("max_tokens", detail(e).param());
        assertEquals("invalid_request_error", detail(e).type());
        assertEquals("logprobs", detail(OpenaiErrors.of(new ValidationException("`return_k_alternatives` must be between 0 and 100"),
                OpenaiErrors.Names.COMPLETIONS)).param());
    }

    @Test
    void aMissingAdapterIs404AndAnUnusableOneIs400() {
        assertEquals(404, OpenaiErrors.of(new AdapterNotFoundException("local adapter x does not exist"), OpenaiErrors.Names.CHAT).status());
        assertEquals(404, OpenaiErrors.of(new CompletionException(new AdapterNotFoundException("adapter org/x does not exist on the Hub")),
                OpenaiErrors.Names.CHAT).status());
        assertEquals("model_not_found", detail(OpenaiErrors.of(new AdapterNotFoundException("s3 adapter s3://b/x has no files"),
                OpenaiErrors.Names.CHAT)).code());
        OpenaiErrors wrongBase = OpenaiErrors.of(new AdapterException("target module q_proj does not exist in the base model (gpt2)"),
                OpenaiErrors.Names.CHAT);
        assertEquals(400, wrongBase.status());
        assertEquals("model", detail(wrongBase).param());
    }

    @Test
    void refusedTokensAre401Or403() {
        assertEquals(401, OpenaiErrors.of(new AdapterAccessException("adapter x needs a token", true), OpenaiErrors.Names.CHAT).status());
        assertEquals(403, OpenaiErrors.of(new AdapterAccessException("adapter x: access refused", false), OpenaiErrors.Names.CHAT).status());
    }

    @Test
    void otherFailuresMapAsOpenaiUsesThem() {
        assertEquals(429, OpenaiErrors.of(new OverloadedException("Model is overloaded"), OpenaiErrors.Names.CHAT).status());
        assertEquals(503, OpenaiErrors.of(new NotReadyException("model is loading"), OpenaiErrors.Names.CHAT).status());
        assertEquals(500, OpenaiErrors.of(new EngineException("generation failed"), OpenaiErrors.Names.CHAT).status());
        OpenaiErrors template = OpenaiErrors.of(new ChatTemplateException("System role not supported"), OpenaiErrors.Names.CHAT);
        assertEquals(400, template.status());
        assertEquals("System role not supported", detail(template).message());
        assertEquals("messages", detail(template).param());
    }
}
