package dev.loraxj.backend.cpu;

/** The linear layers of a Llama block (the seven LoRA can target) and the output head, by HF name. */
public enum Module {
    Q("self_attn.q_proj"),
    K("self_attn.k_proj"),
    V("self_attn.v_proj"),
    O("self_attn.o_proj"),
    GATE("mlp.gate_proj"),
    UP("mlp.up_proj"),
    DOWN("mlp.down_proj"),
    LM_HEAD("lm_head");

    private final String path;

    Module(String path) {
        this.path = path;
    }

    /** The name inside a layer ({@code self_attn.q_proj}), as HF checkpoints and PEFT adapters spell it. */
    public String path() {
        return path;
    }

    /** The PEFT short name ({@code q_proj}); {@code lm_head} for the head. */
    public String shortName() {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? path : path.substring(dot + 1);
    }
}
