#!/usr/bin/env python3
"""What the CUDA backend's bf16 numerics cost on stories260K, emulated on the CPU with NumPy (no GPU):
weights, norm weights and LoRA matrices rounded to bf16, every GEMM input rounded to bf16 (the normed
rows, the attention output, SiLU*up), the KV cache bf16, sums in float64; the logits compared with the
float32 goldens. The printed maxima are what CudaBackendContractTest's tolerances are set against.
`python3 src/test/cuda/emulate_bf16.py ../shared`"""
import json
import struct
import sys
from pathlib import Path

import numpy as np


def bf16(x):
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16).astype(np.uint32)).view(np.float32)


def tensors(path):
    raw = Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        assert t["dtype"] == "F32", t["dtype"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], np.float32).reshape(t["shape"])
    return out


def forward(w, cfg, tokens, lora=None, emulate=True):
    r = bf16 if emulate else (lambda x: np.asarray(x, np.float32))
    h, heads, kvh, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    T = len(tokens)
    inv = (1.0 / cfg["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd)).astype(np.float32)
    ang = (np.arange(T, dtype=np.float32)[:, None] * inv[None, :]).astype(np.float64)
    cos, sin = np.cos(ang), np.sin(ang)

    def lin(x, name, layer=None):
        y = x.astype(np.float64) @ r(w[name]).astype(np.float64).T
        if lora is not None and layer is not None:
            key = name.replace("model.", "base_model.model.model.").replace(".weight", "")
            if key + ".lora_A.weight" in lora["t"]:
                s = lora["scale"] * (x.astype(np.float64) @ r(lora["t"][key + ".lora_A.weight"]).astype(np.float64).T)
                y = y + s.astype(np.float32).astype(np.float64) @ r(lora["t"][key + ".lora_B.weight"]).astype(np.float64).T
        return y.astype(np.float32)

    def norm(x, name):
        inv_rms = (1.0 / np.sqrt((x.astype(np.float64) ** 2).mean(1, keepdims=True) + eps)).astype(np.float32)
        return r((x * inv_rms) * r(w[name]))

    def rope(x):
        half = hd // 2
        x1, x2 = x[..., :half].astype(np.float64), x[..., half:].astype(np.float64)
        c, s = cos[:, None, :], sin[:, None, :]
        return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], -1).astype(np.float32)

    x = r(w["model.embed_tokens.weight"])[tokens].astype(np.float32)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        xn = norm(x, p + "input_layernorm.weight")
        q = rope(lin(xn, p + "self_attn.q_proj.weight", l).reshape(T, heads, hd))
        k = r(rope(lin(xn, p + "self_attn.k_proj.weight", l).reshape(T, kvh, hd)))
        v = r(lin(xn, p + "self_attn.v_proj.weight", l).reshape(T, kvh, hd))
        att = np.zeros((T, heads, hd))
        for t in range(T):
            for hh in range(heads):
                sc = k[: t + 1, hh // (heads // kvh)].astype(np.float64) @ (q[t, hh] * np.float32(1 / np.sqrt(hd))).astype(np.float64)
                e = np.exp(sc - sc.max())
                att[t, hh] = (e / e.sum()) @ v[: t + 1, hh // (heads // kvh)].astype(np.float64)
        x = x + lin(r(att.reshape(T, -1).astype(np.float32)), p + "self_attn.o_proj.weight", l)
        xn = norm(x, p + "post_attention_layernorm.weight")
        g = lin(xn, p + "mlp.gate_proj.weight", l).astype(np.float64)
        u = lin(xn, p + "mlp.up_proj.weight", l).astype(np.float64)
        x = x + lin(r((g / (1 + np.exp(-g)) * u).astype(np.float32)), p + "mlp.down_proj.weight", l)
    return lin(norm(x, "model.norm.weight"), "model.embed_tokens.weight")


def main(shared):
    shared = Path(shared)
    cfg = json.loads((shared / "models/stories260K/config.json").read_text())
    w = tensors(shared / "models/stories260K/model.safetensors")
    prompt = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421]
    cases = [("base", None)] + [(a, a) for a in ("lora-name-max", "lora-name-sue", "lora-synth-1", "lora-synth-2")]
    for name, adapter in cases:
        lora = None
        if adapter:
            d = shared / "adapters/stories260K" / adapter
            c = json.loads((d / "adapter_config.json").read_text())
            lora = {"t": tensors(d / "adapter_model.safetensors"), "scale": c["lora_alpha"] / c["r"]}
        golden = np.fromfile(shared / f"golden/stories260K/{name}.logits.f32", np.float32).reshape(len(prompt), -1)
        exact = forward(w, cfg, prompt, lora, emulate=False)
        got = forward(w, cfg, prompt, lora)
        print(f"{name}: float32 emulation max |diff| {np.abs(exact - golden).max():.2e}; bf16 emulation max |diff| "
              f"{np.abs(got - golden).max():.3f} (logits up to {np.abs(golden).max():.1f}), argmax agrees at "
              f"{(got.argmax(1) == golden.argmax(1)).sum()}/{len(prompt)} positions")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared")
