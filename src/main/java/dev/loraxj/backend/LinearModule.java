package dev.loraxj.backend;

/** The linear layers of a Llama block (the seven LoRA can target) and the output head, by HF name. */
public enum LinearModule {
    Q("self_attn.q_proj"),
    K("self_attn.k_proj"),
    V("self_attn.v_proj"),
    O("self_attn.o_proj"),
    GATE("mlp.gate_proj"),
    UP("mlp.up_proj"),
    DOWN("mlp.down_proj"),
    LM_HEAD("lm_head");

    private final String path;

    LinearModule(String path) {
        this.path = path;
    }

    /** The name inside a layer ({@code self_attn.q_proj}), as HF checkpoints and PEFT adapters spell it. */
    public String path() {
        return path;
    }

    /** The seven linears of a block that LoRA can target (all but the head). */
    public static final java.util.List<LinearModule> LORA_TARGETS = java.util.List.of(Q, K, V, O, GATE, UP, DOWN);

    /** The module whose PEFT short name ({@code q_proj}) is given, among the LoRA targets; null if none. */
    public static LinearModule byShortName(String shortName) {
        for (LinearModule m : LORA_TARGETS) {
            if (m.shortName().equals(shortName)) {
                return m;
            }
        }
        return null;
    }

    /** Input features of this module's weight in {@code c}. */
    public int in(dev.loraxj.model.ModelConfig c) {
        return switch (this) {
            case Q, K, V, GATE, UP, LM_HEAD -> c.hiddenSize();
            case O -> c.qDim();
            case DOWN -> c.intermediateSize();
        };
    }

    /** Output features of this module's weight in {@code c}. */
    public int out(dev.loraxj.model.ModelConfig c) {
        return switch (this) {
            case Q -> c.qDim();
            case K, V -> c.kvDim();
            case O, DOWN -> c.hiddenSize();
            case GATE, UP -> c.intermediateSize();
            case LM_HEAD -> c.vocabSize();
        };
    }

    /** The PEFT short name ({@code q_proj}); {@code lm_head} for the head. */
    public String shortName() {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? path : path.substring(dot + 1);
    }
}
