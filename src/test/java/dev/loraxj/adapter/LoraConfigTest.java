package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loraxj.SharedAssets;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraConfigTest {

    static LoraConfig parse(String json) throws Exception {
        return LoraConfig.parse(new ObjectMapper().readTree(json));
    }

    @Test
    void sharedAdapterConfig() {
        LoraConfig c = LoraConfig.load(SharedAssets.adapter("lora-name-max"));
        assertEquals(4, c.r());
        assertEquals(2.0, c.scale("model.layers.0.self_attn.q_proj"), 0);
        assertTrue(c.targets("model.layers.3.self_attn.q_proj", 3));
        assertFalse(c.targets("model.layers.3.self_attn.k_proj", 3), "lora-name-max does not target k");
        assertEquals("stories260K", c.baseModelNameOrPath());
    }

    @Test
    void rsloraScalesByTheSquareRootOfTheRank() throws Exception {
        LoraConfig c = parse("{\"r\":16,\"lora_alpha\":8,\"use_rslora\":true,\"target_modules\":[\"q_proj\"]}");
        assertEquals(8 / 4.0, c.scale("model.layers.0.self_attn.q_proj"), 1e-12);
    }

    @Test
    void rankAndAlphaPatternsApplyPerModule() throws Exception {
        LoraConfig c = parse("""
                {"r":8,"lora_alpha":16,"target_modules":["q_proj","v_proj","down_proj"],
                 "rank_pattern":{"v_proj":4,"layers.1.mlp.down_proj":2},"alpha_pattern":{"down_proj":1}}""");
        assertEquals(8, c.rank("model.layers.0.self_attn.q_proj"));
        assertEquals(2.0, c.scale("model.layers.0.self_attn.q_proj"), 0);
        assertEquals(4, c.rank("model.layers.0.self_attn.v_proj"));
        assertEquals(16 / 4.0, c.scale("model.layers.0.self_attn.v_proj"), 0);
        assertEquals(2, c.rank("model.layers.1.mlp.down_proj"));
        assertEquals(8, c.rank("model.layers.11.mlp.down_proj"), "layers.1 must not match layers.11");
        assertEquals(1 / 8.0, c.scale("model.layers.0.mlp.down_proj"), 0);
    }

    @Test
    void regexTargetsAndLayersToTransform() throws Exception {
        LoraConfig c = parse("{\"r\":4,\"lora_alpha\":4,\"target_modules\":\".*layers\\\\.[01]\\\\..*(q|v)_proj\",\"layers_to_transform\":[0,2]}");
        assertTrue(c.targets("model.layers.0.self_attn.q_proj", 0));
        assertFalse(c.targets("model.layers.1.self_attn.q_proj", 1), "layer 1 is not in layers_to_transform");
        assertFalse(c.targets("model.layers.2.self_attn.q_proj", 2), "the regex stops at layer 1");
        assertFalse(c.targets("model.layers.0.self_attn.k_proj", 0));
    }

    @Test
    void unsupportedAdaptersAreRefusedClearly() {
        AdapterException e = assertThrows(AdapterException.class, () -> parse("{\"peft_type\":\"PREFIX_TUNING\"}"));
        assertTrue(e.getMessage().contains("PREFIX_TUNING"), e.getMessage());
        e = assertThrows(AdapterException.class, () -> parse("{\"r\":4,\"use_dora\":true,\"target_modules\":[\"q_proj\"]}"));
        assertTrue(e.getMessage().contains("DoRA"), e.getMessage());
        e = assertThrows(AdapterException.class, () -> parse("{\"r\":4,\"modules_to_save\":[\"lm_head\"],\"target_modules\":[\"q_proj\"]}"));
        assertTrue(e.getMessage().contains("modules_to_save"), e.getMessage());
        e = assertThrows(AdapterException.class, () -> parse("{\"r\":4}"));
        assertTrue(e.getMessage().contains("target_modules"), e.getMessage());
    }

    @Test
    void mistypedRanksAlphasAndFlagsAreRefusedNotDefaulted() {
        String base = "\"target_modules\":[\"q_proj\"]";
        java.util.Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("\"r\":\"four\"", "r must be a positive integer, got \"four\"");
        cases.put("\"r\":8.5", "r must be a positive integer, got 8.5");
        cases.put("\"r\":0", "r must be a positive integer, got 0");
        cases.put("\"r\":true", "r must be a positive integer, got true");
        cases.put("\"r\":4294967296", "r must be a positive integer, got 4294967296");
        cases.put("\"lora_alpha\":\"8\"", "lora_alpha must be a finite number, got \"8\"");
        cases.put("\"lora_alpha\":1e39", "lora_alpha must be a finite number, got 1.0E39");
        cases.put("\"use_rslora\":\"yes\"", "use_rslora must be true or false");
        cases.put("\"rank_pattern\":{\"q_proj\":\"x\"}", "rank_pattern.q_proj must be a positive integer");
        cases.put("\"alpha_pattern\":{\"q_proj\":null}", "alpha_pattern.q_proj must be a finite number, got \"null\"");
        cases.put("\"r\":null", null); // absent or null: PEFT's default r=8 (alpha 8: scale 1)
        cases.put("\"layers_to_transform\":[\"0\"]", "layers_to_transform must hold layer numbers");
        for (var c : cases.entrySet()) {
            String json = "{" + c.getKey() + "," + base + "}";
            if (c.getValue() == null) {
                assertEquals(8.0 / 8, assertDoesNotThrowParse(json).scale("model.layers.0.self_attn.q_proj"), 0, json);
                continue;
            }
            AdapterException e = assertThrows(AdapterException.class, () -> parse(json), json);
            assertTrue(e.getMessage().contains(c.getValue()), json + ": " + e.getMessage());
        }
    }

    private static LoraConfig assertDoesNotThrowParse(String json) {
        try {
            return parse(json);
        } catch (Exception e) {
            throw new AssertionError(json, e);
        }
    }
}
