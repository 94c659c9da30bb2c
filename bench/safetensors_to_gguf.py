#!/usr/bin/env python3
"""Writes a loraxj bench model (config.json + model.safetensors, Llama) as a GGUF file for llama.cpp.

Needs only numpy and llama.cpp's gguf-py (PYTHONPATH=<llama.cpp>/gguf-py): llama.cpp's own
convert_hf_to_gguf.py imports torch, which these machines lack. The safetensors file is an 8-byte
header length, a JSON header and raw little-endian bytes, so numpy memory-maps each tensor in place.
Weights keep their dtype (F32 or BF16, as BF16 raw bits); norms are written as F32, as llama.cpp
wants. The vocabulary is the SentencePiece-style one of a tokenizer.json (stories260K's by
default), padded with unused [PAD{i}] tokens up to the model's vocab_size, as convert_hf_to_gguf does.

usage: safetensors_to_gguf.py MODEL_DIR OUT.gguf [--tokenizer DIR]
"""
import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np

try:
    import gguf
except ImportError:
    sys.exit("gguf-py not found: run with PYTHONPATH=<llama.cpp>/gguf-py")

DTYPES = {"F32": np.float32, "BF16": np.uint16, "F16": np.float16}


def read_safetensors(path):
    """name -> (dtype name, numpy view over the file), without copying."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] not in DTYPES:
            sys.exit(f"{path}: tensor {name} has dtype {t['dtype']}; only F32, BF16 and F16 are converted")
        lo, hi = t["data_offsets"]
        out[name] = (t["dtype"], data[lo:hi].view(DTYPES[t["dtype"]]).reshape(t["shape"]))
    return out


def bf16_to_f32(a):
    return (a.astype(np.uint32) << 16).view(np.float32)


def permute(w, heads):
    """HF's rotate-half q/k rows to GGML's interleaved RoPE pairs (convert_hf_to_gguf's LlamaModel.permute)."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def vocab(tokenizer_dir, size, bytes_as_text=False):
    """Tokens, scores and types: SentencePiece-style pieces in id order (score -id), then padding pieces up to size.

    bytes_as_text types the <0xNN> pieces as normal tokens, so llama.cpp decodes one to its six characters instead of
    a raw byte. llama-server answers a stream whose text is not valid UTF-8 with a 500 ("does not match the expected
    Content-only format"), and a random model draws lone bytes; throughput and TTFT do not depend on the text.

    The padding is a word per id, "\u2581t<id>", exactly as loraxj's bench pads the tokenizer.json it serves
    (ServeSetup.padPiece): a random model draws ids all over the vocabulary, and both servers must decode
    them to the same text."""
    T = gguf.TokenType
    tokens, scores, types = [], [], []
    path = Path(tokenizer_dir) / "tokenizer.json"
    if path.is_file():
        tj = json.loads(path.read_text(encoding="utf-8"))
        by_id = sorted(tj["model"]["vocab"].items(), key=lambda kv: kv[1])
        special = {a["content"] for a in tj.get("added_tokens", []) if a.get("special")}
        for piece, i in by_id[:size]:
            if i != len(tokens):
                sys.exit(f"{path}: vocabulary ids are not contiguous at {i}")
            tokens.append(piece)
            scores.append(-float(i))
            if piece == "<unk>":
                types.append(T.UNKNOWN)
            elif piece in special or piece in ("<s>", "</s>"):
                types.append(T.CONTROL)
            elif piece.startswith("<0x") and piece.endswith(">") and len(piece) == 6:
                types.append(T.NORMAL if bytes_as_text else T.BYTE)
            else:
                types.append(T.NORMAL)
    else:  # a synthetic vocabulary: unk, bos, eos, the 256 bytes
        for p, t in (("<unk>", T.UNKNOWN), ("<s>", T.CONTROL), ("</s>", T.CONTROL)):
            tokens.append(p); scores.append(0.0); types.append(t)
        for b in range(256):
            tokens.append(f"<0x{b:02X}>"); scores.append(0.0); types.append(T.NORMAL if bytes_as_text else T.BYTE)
    for i in range(len(tokens), size):
        tokens.append(f"\u2581t{i}"); scores.append(-float(i)); types.append(T.NORMAL)
    return tokens, scores, types


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--bytes-as-text", action="store_true", help="byte pieces as normal tokens (for llama-server's HTTP bench)")
    ap.add_argument("--tokenizer", default=str(Path(__file__).resolve().parents[2] / "shared" / "models" / "stories260K"))
    a = ap.parse_args()
    d = Path(a.model_dir)
    cfg = json.loads((d / "config.json").read_text())
    if cfg.get("model_type") != "llama":
        sys.exit(f"{d}: model_type {cfg.get('model_type')}; only llama is converted")
    st = read_safetensors(d / "model.safetensors")
    heads, kv_heads = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    hidden = cfg["hidden_size"]
    head_dim = cfg.get("head_dim", hidden // heads)

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name(d.name)
    w.add_context_length(cfg.get("max_position_embeddings", 2048))
    w.add_embedding_length(hidden)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_freq_base(cfg.get("rope_theta", 10000.0))
    w.add_layer_norm_rms_eps(cfg.get("rms_norm_eps", 1e-5))
    w.add_vocab_size(cfg["vocab_size"])
    dtype = st["model.embed_tokens.weight"][0]
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16 if dtype == "BF16" else gguf.LlamaFileType.ALL_F32)

    tokens, scores, types = vocab(a.tokenizer, cfg["vocab_size"], a.bytes_as_text)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(cfg.get("bos_token_id", 1))
    w.add_eos_token_id(cfg.get("eos_token_id", 2))
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    per_layer = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
                 "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                 "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                 "mlp.down_proj": "ffn_down"}
    for i in range(cfg["num_hidden_layers"]):
        for hf, gg in per_layer.items():
            names[f"model.layers.{i}.{hf}.weight"] = f"blk.{i}.{gg}.weight"
    if cfg.get("tie_word_embeddings") and "lm_head.weight" not in st:
        del names["lm_head.weight"]  # llama.cpp reuses token_embd when output.weight is absent
    for hf, gg in names.items():
        if hf not in st:
            sys.exit(f"{d}: tensor {hf} is missing")
        kind, t = st[hf]
        raw = gguf.GGMLQuantizationType.BF16 if kind == "BF16" else None
        if ".attn_q." in gg or ".attn_k." in gg:
            t = permute(t, heads if ".attn_q." in gg else kv_heads)
        if t.ndim == 1:  # norms in F32
            t, raw = (bf16_to_f32(t) if kind == "BF16" else t.astype(np.float32)), None
        w.add_tensor(gg, np.ascontiguousarray(t), raw_dtype=raw)
    unused = set(st) - set(names)
    if unused:
        sys.exit(f"{d}: tensors not converted: {sorted(unused)[:5]}")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {a.out} ({len(names)} tensors, {dtype}, vocab {len(tokens)})")


if __name__ == "__main__":
    main()
