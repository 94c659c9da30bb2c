package dev.loraxj.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.SharedAssets;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigTest {

    static JsonNode json(String s) throws Exception {
        return new ObjectMapper().readTree(s);
    }

    @Test
    void stories260K() {
        ModelConfig c = ModelConfig.load(SharedAssets.stories260K());
        assertEquals("llama", c.modelType());
        assertEquals(64, c.hiddenSize());
        assertEquals(8, c.numHeads());
        assertEquals(4, c.numKvHeads());
        assertEquals(8, c.headDim());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.attentionBias());
        assertEquals(List.of(2), c.eosTokenIds());
        // inv_freq[i] = theta^(-2i/d): 1, 0.1, 0.01, 0.001 for d = 8
        assertEquals(0.1f, c.ropeInvFreq()[1], 1e-7f);
        assertEquals(0.001f, c.ropeInvFreq()[3], 1e-9f);
    }

    @Test
    void qwen2HasQkvBiasAndNoOBias() throws Exception {
        ModelConfig c = ModelConfig.parse(json("""
                {"model_type":"qwen2","hidden_size":896,"intermediate_size":4864,"num_hidden_layers":24,
                 "num_attention_heads":14,"num_key_value_heads":2,"vocab_size":151936,"rope_theta":1000000.0,
                 "tie_word_embeddings":true,"sliding_window":32768,"use_sliding_window":false,"eos_token_id":151643}"""));
        assertTrue(c.attentionBias());
        assertFalse(c.oProjBias());
        assertEquals(64, c.headDim());
        assertEquals(0, c.slidingWindow(), "qwen2 without use_sliding_window attends to everything");
    }

    @Test
    void mistralSlidingWindowAndLlamaBiases() throws Exception {
        ModelConfig m = ModelConfig.parse(json("""
                {"model_type":"mistral","hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,
                 "num_attention_heads":32,"num_key_value_heads":8,"vocab_size":32000,"sliding_window":4096}"""));
        assertEquals(4096, m.slidingWindow());
        ModelConfig l = ModelConfig.parse(json("""
                {"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,
                 "num_attention_heads":4,"head_dim":32,"vocab_size":100,"attention_bias":true,"mlp_bias":true,
                 "eos_token_id":[128001,128009]}"""));
        assertTrue(l.attentionBias() && l.oProjBias() && l.mlpBias());
        assertEquals(32, l.headDim(), "head_dim may differ from hidden/heads");
        assertEquals(List.of(128001, 128009), l.eosTokenIds());
    }

    @Test
    void llama3RopeScalingMatchesTheReferenceFormula() throws Exception {
        ModelConfig c = ModelConfig.parse(json("""
                {"model_type":"llama","hidden_size":256,"intermediate_size":512,"num_hidden_layers":1,
                 "num_attention_heads":2,"vocab_size":100,"rope_theta":500000.0,
                 "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
                 "original_max_position_embeddings":8192}}"""));
        int d = 128;
        for (int i = 0; i < d / 2; i++) {
            double f = Math.pow(500000.0, -2.0 * i / d);
            double wl = 2 * Math.PI / f;
            double want;
            if (wl < 8192 / 4.0) {
                want = f;
            } else if (wl > 8192 / 1.0) {
                want = f / 8;
            } else {
                double s = (8192 / wl - 1) / (4 - 1);
                want = (1 - s) * f / 8 + s * f;
            }
            assertEquals(want, c.ropeInvFreq()[i], want * 1e-6, "pair " + i);
        }
    }

    @Test
    void unsupportedConfigsAreRefusedClearly() throws Exception {
        ModelException e = assertThrows(ModelException.class, () -> ModelConfig.parse(json("""
                {"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,
                 "num_attention_heads":4,"vocab_size":100,"rope_scaling":{"type":"yarn","factor":4.0}}""")));
        assertTrue(e.getMessage().contains("rope_scaling") && e.getMessage().contains("yarn"), e.getMessage());
        e = assertThrows(ModelException.class, () -> ModelConfig.parse(json("{\"model_type\":\"gpt2\"}")));
        assertTrue(e.getMessage().contains("gpt2"), e.getMessage());
        e = assertThrows(ModelException.class, () -> ModelConfig.parse(json("""
                {"model_type":"llama","intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":100}""")));
        assertTrue(e.getMessage().contains("hidden_size"), e.getMessage());
    }
}
