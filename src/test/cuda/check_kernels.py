#!/usr/bin/env python3
"""Runs every kernel of src/main/native on a GPU, from the packaged PTX, against float64 NumPy
references of the CPU backend's semantics. For the device machine, which has CuPy and NumPy but no
JDK: `python3 src/test/cuda/check_kernels.py target/classes/dev/loraxj/backend/cuda/ptx`.
Exit status 0 when every check passes. `--references` checks the references alone (no GPU needed).
Tolerances: exact where the kernel only moves or rounds once (gather, store, residual), one bf16
step (2^-8 relative) where the output is bf16, 1e-5 relative on float32 sums of up to 8192 terms."""
import sys
from pathlib import Path

import numpy as np

RNG = np.random.default_rng(13)
FAILURES = []


def bf16_bits(f):
    """float32 -> bf16 bits, round to nearest even (KvCache.toBf16, __float2bfloat16_rn)."""
    b = np.asarray(f, np.float32).view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)


def widen(bits):
    return (np.asarray(bits, np.uint16).astype(np.uint32) << 16).view(np.float32)


def check(name, want, got, rtol, atol=0.0):
    want = np.asarray(want, np.float64)
    got = np.asarray(got, np.float64)
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol) | (np.isnan(got) != np.isnan(want))
    if want.shape != got.shape or bad.any():
        where = np.argwhere(bad)[:3].tolist() if want.shape == got.shape else "shape"
        FAILURES.append(name)
        print(f"FAIL {name}: {int(bad.sum()) if want.shape == got.shape else '?'} of {want.size} off, first at {where}")
    else:
        err = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-30)) if want.size else 0.0
        print(f"ok   {name} (max relative error {err:.2e})")


# ---- references: the CPU backend's order of operations, in float64 where it sums
def ref_rmsnorm(x, w_bits, eps):
    inv = 1.0 / np.sqrt((x.astype(np.float64) ** 2).mean(axis=1, keepdims=True) + eps)
    return widen(bf16_bits((x * inv.astype(np.float32)) * widen(w_bits)))


def ref_silu_mul(gate_up, inter):
    g = gate_up[:, :inter].astype(np.float64)
    u = gate_up[:, inter:].astype(np.float64)
    return widen(bf16_bits((g / (1 + np.exp(-g)) * u).astype(np.float32)))


def ref_rope(x, positions, inv_freq):
    half = inv_freq.size
    angle = (positions[:, None].astype(np.float32) * inv_freq[None, :]).astype(np.float64)
    c = np.cos(angle)[:, None, :]
    s = np.sin(angle)[:, None, :]
    x1, x2 = x[..., :half].astype(np.float64), x[..., half:].astype(np.float64)
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def ref_lora(x_bits, segments, stride, out):
    """segments: (start, end, rank, A bits [r, in], Bt bits [r, out], scale). Returns s [T, stride], dy [T, out]."""
    x = widen(x_bits).astype(np.float64)
    s = np.zeros((x.shape[0], stride))
    dy = np.zeros((x.shape[0], out))
    for start, end, rank, a, bt, scale in segments:
        s[start:end, :rank] = scale * (x[start:end] @ widen(a).astype(np.float64).T)
        dy[start:end] = s[start:end, :rank] @ widen(bt).astype(np.float64)
    return s, dy


def ref_attention(q, k, v, token_seq, positions, lengths_of, heads, kv_heads):
    """q [T, heads, D] float32; k, v per sequence [len, kv_heads, D] (bf16-rounded); causal to positions[t]."""
    T, _, D = q.shape
    group = heads // kv_heads
    out = np.zeros((T, heads, D))
    for t in range(T):
        ks, vs = k[token_seq[t]][: positions[t] + 1], v[token_seq[t]][: positions[t] + 1]
        for h in range(heads):
            scores = ks[:, h // group, :].astype(np.float64) @ (q[t, h].astype(np.float32) * np.float32(1 / np.sqrt(D))).astype(np.float64)
            w = np.exp(scores - scores.max())
            out[t, h] = (w / w.sum()) @ vs[:, h // group, :].astype(np.float64)
    return out


def self_check_references():
    """The references agree with a plain reading of the formulas (no GPU)."""
    x = RNG.standard_normal((3, 64)).astype(np.float32)
    w = bf16_bits(RNG.standard_normal(64))
    want = x / np.sqrt((x.astype(np.float64) ** 2).mean(1, keepdims=True) + 1e-5) * widen(w)
    check("reference rmsnorm", want, ref_rmsnorm(x, w, 1e-5), rtol=2 ** -8)
    q = RNG.standard_normal((2, 3, 8)).astype(np.float32)
    rotated = ref_rope(q, np.array([0, 5]), (1.0 / 10000 ** (np.arange(4) / 4)).astype(np.float32))
    check("reference rope at position 0 is the identity", q[0], rotated[0], rtol=0)
    check("reference rope keeps norms", np.linalg.norm(q, axis=-1), np.linalg.norm(rotated, axis=-1), rtol=1e-6)
    assert widen(bf16_bits(np.float32(1.00390625)))[()] == 1.0  # ties to even
    assert widen(bf16_bits(np.float32(1.01171875)))[()] == 1.015625


def run_device(ptx_dir):
    import cupy as cp

    def module(name):
        return cp.RawModule(path=str(Path(ptx_dir) / f"{name}.sm_90.ptx"))

    ew, lora, attn, gemv, gemm = module("elementwise"), module("sgmv"), module("attention"), module("gemv"), module("gemm")
    head = module("head")
    i32, f32, i64 = np.int32, np.float32, np.int64

    # small-batch linear: 1, 3 and 8 rows over a 2048 -> 8192 weight and an odd 75 -> 33
    for IN, OUT in ((2048, 8192), (75, 33)):
        w = bf16_bits(RNG.standard_normal((OUT, IN)) * 0.02)
        dw = cp.asarray(w)
        for rows in (1, 3, 8):
            x = bf16_bits(RNG.standard_normal((rows, IN)))
            y = cp.zeros((rows, OUT), cp.float32)
            gemv.get_function("gemv_bf16")(((OUT + 7) // 8,), (256,), (dw, cp.asarray(x), y, i32(IN), i32(OUT), i32(rows)))
            want = widen(x).astype(np.float64) @ widen(w).astype(np.float64).T
            check(f"gemv_bf16 {IN}->{OUT} x{rows}", want, y.get(), rtol=1e-4, atol=1e-5)
    # its batch-1 bandwidth on a 1B-shape MLP weight (8192 x 2048), against a device copy of the same bytes
    w = cp.asarray(bf16_bits(RNG.standard_normal((8192, 2048)) * 0.02))
    x = cp.asarray(bf16_bits(RNG.standard_normal((1, 2048))))
    y = cp.zeros((1, 8192), cp.float32)
    copy = cp.empty_like(w)
    start, end = cp.cuda.Event(), cp.cuda.Event()
    def timed(f, n=200):
        f()
        start.record()
        for _ in range(n):
            f()
        end.record()
        end.synchronize()
        return cp.cuda.get_elapsed_time(start, end) / n / 1e3
    t_gemv = timed(lambda: gemv.get_function("gemv_bf16")((1024,), (256,), (w, x, y, i32(2048), i32(8192), i32(1))))
    t_copy = timed(lambda: copy.__setitem__(slice(None), w))
    print(f"info gemv_bf16 batch 1 reads {w.nbytes / t_gemv / 1e9:.0f} GB/s; a device copy moves {2 * w.nbytes / t_copy / 1e9:.0f} GB/s"
          f" (read + write): {w.nbytes / t_gemv / (2 * w.nbytes / t_copy):.2f} of it")

    # tensor-core linear: tile-aligned, ragged edges, and K a multiple of 8 but not of the 32-wide K tile
    for M, N, K in ((128, 256, 2048), (37, 75, 72), (200, 130, 520)):
        x = bf16_bits(RNG.standard_normal((M, K)))
        w = bf16_bits(RNG.standard_normal((N, K)) * 0.02)
        y = cp.full((M, N), np.nan, cp.float32)
        gemm.get_function("gemm_bf16")(((N + 63) // 64, (M + 63) // 64), (128,), (cp.asarray(x), cp.asarray(w), y, i32(M), i32(N), i32(K)))
        want = widen(x).astype(np.float64) @ widen(w).astype(np.float64).T
        check(f"gemm_bf16 {M}x{N}x{K}", want, y.get(), rtol=1e-3, atol=1e-4)
    M, N, K = 512, 8192, 2048
    x, w, y = cp.asarray(bf16_bits(RNG.standard_normal((M, K)))), cp.asarray(bf16_bits(RNG.standard_normal((N, K)))), cp.zeros((M, N), cp.float32)
    start, end = cp.cuda.Event(), cp.cuda.Event()
    launch = lambda: gemm.get_function("gemm_bf16")(((N + 63) // 64, (M + 63) // 64), (128,), (x, w, y, i32(M), i32(N), i32(K)))
    launch()
    start.record()
    for _ in range(20):
        launch()
    end.record()
    end.synchronize()
    seconds = cp.cuda.get_elapsed_time(start, end) / 20 / 1e3
    print(f"info gemm_bf16 {M}x{N}x{K}: {2 * M * N * K / seconds / 1e12:.1f} TFLOP/s")

    # the head's kernels: rows for logits, a Medusa ResBlock's tail, greedy picks with ties to the lowest index
    x = bf16_bits(RNG.standard_normal((9, 64)))
    rows = np.array([8, 0, 3], np.int32)
    o = cp.zeros((3, 64), cp.uint16)
    head.get_function("gather_rows")((3,), (64,), (cp.asarray(x), cp.asarray(rows), o, i32(64)))
    check("gather_rows", x[rows], o.get(), rtol=0)
    xs, ys, bs = (RNG.standard_normal((4, 64)).astype(np.float32) for _ in range(3))
    bs = bs[0]
    h = cp.zeros((4, 64), cp.float32)
    head.get_function("medusa_residual")((1,), (256,), (cp.asarray(xs), cp.asarray(ys), cp.asarray(bs), h, i32(64), i32(4)))
    z = ys.astype(np.float64) + bs
    check("medusa_residual", xs + z / (1 + np.exp(-z)), h.get(), rtol=1e-6, atol=1e-6)
    logits = RNG.standard_normal((5, 32000)).astype(np.float32)
    logits[2, [7, 9000]] = 50.0  # a tie: the lower index wins
    picks = cp.zeros(5, cp.int32)
    head.get_function("argmax_rows")((5,), (256,), (cp.asarray(logits), picks, i32(32000)))
    check("argmax_rows", np.argmax(logits, axis=1), picks.get(), rtol=0)

    # embedding gather
    V, H, T = 97, 200, 7
    table = bf16_bits(RNG.standard_normal((V, H)))
    tokens = RNG.integers(0, V, T).astype(np.int32)
    out = cp.zeros((T, H), cp.float32)
    ew.get_function("embed_gather")((T,), (128,), (cp.asarray(table), cp.asarray(tokens), out, i32(H)))
    check("embed_gather", widen(table[tokens]), out.get(), rtol=0)

    # rmsnorm, hidden 2048 and an odd 75
    for H in (2048, 75):
        x = RNG.standard_normal((5, H)).astype(np.float32)
        w = bf16_bits(RNG.standard_normal(H))
        o = cp.zeros((5, H), cp.uint16)
        ew.get_function("rmsnorm")((5,), (256,), (cp.asarray(x), cp.asarray(w), o, i32(H), f32(1e-5)))
        check(f"rmsnorm hidden {H}", ref_rmsnorm(x, w, 1e-5), widen(o.get()), rtol=2 ** -7)

    # float32 to bf16, ties to even; and the benchmark model's device fill: deterministic, in range, centred
    n = 100_003
    a = (RNG.standard_normal(n) * 10).astype(np.float32)
    o = cp.zeros(n, cp.uint16)
    ew.get_function("f32_to_bf16")(((n + 255) // 256,), (256,), (cp.asarray(a), o, i64(n)))
    check("f32_to_bf16", bf16_bits(a), o.get(), rtol=0)
    n = 1 << 20
    f1, f2 = cp.zeros(n, cp.uint16), cp.zeros(n, cp.uint16)
    for f in (f1, f2):
        ew.get_function("fill_random_bf16")(((n + 255) // 256,), (256,), (f, i64(n), np.uint32(7), f32(0.02), f32(1.0)))
    vals = widen(f1.get()).astype(np.float64)
    check("fill_random_bf16 is deterministic", f1.get(), f2.get(), rtol=0)
    check("fill_random_bf16 stays in offset +- scale", np.zeros(1), [max(0.0, np.abs(vals - 1.0).max() - 0.02 * (1 + 2 ** -7))], rtol=0)
    check("fill_random_bf16 mean and spread", [1.0, 0.02 / np.sqrt(3)], [vals.mean(), vals.std()], rtol=0.02)

    # residual add
    n = 100_003
    a = RNG.standard_normal(n).astype(np.float32)
    b = RNG.standard_normal(n).astype(np.float32)
    da = cp.asarray(a)
    ew.get_function("residual_add")(((n + 255) // 256,), (256,), (da, cp.asarray(b), i64(n)))
    check("residual_add", a + b, da.get(), rtol=0)

    # silu * up
    rows, inter = 6, 8192
    gu = (RNG.standard_normal((rows, 2 * inter)) * 3).astype(np.float32)
    o = cp.zeros((rows, inter), cp.uint16)
    ew.get_function("silu_mul")(((rows * inter + 255) // 256,), (256,), (cp.asarray(gu), o, i32(inter), i32(rows)))
    check("silu_mul", ref_silu_mul(gu, inter), widen(o.get()), rtol=2 ** -7, atol=1e-30)

    # rope, 32 heads / 8 kv heads of 64, positions up to 4000
    T, heads, kvh, D = 5, 32, 8, 64
    q = RNG.standard_normal((T, heads, D)).astype(np.float32)
    k = RNG.standard_normal((T, kvh, D)).astype(np.float32)
    pos = np.array([0, 1, 17, 1000, 4000], np.int32)
    inv = (1.0 / 500000.0 ** (np.arange(0, D, 2) / D)).astype(np.float32)
    dq, dk = cp.asarray(q), cp.asarray(k)
    ew.get_function("rope")((T,), (128,), (dq, dk, cp.asarray(pos), cp.asarray(inv), i32(heads), i32(kvh), i32(D)))
    check("rope q", ref_rope(q, pos, inv), dq.get(), rtol=1e-5, atol=1e-5)
    check("rope k", ref_rope(k, pos, inv), dk.get(), rtol=1e-5, atol=1e-5)

    # SGMV: five adapters of ranks 1..128 over 40 rows, base rows between them untouched
    IN, OUT, T = 2048, 512, 40
    spans = [(0, 3, 1), (5, 6, 4), (6, 22, 16), (25, 26, 64), (30, 40, 128)]
    x = bf16_bits(RNG.standard_normal((T, IN)))
    segs, keep = [], []
    for start, end, r in spans:
        a = bf16_bits(RNG.standard_normal((r, IN)) * 0.02)
        bt = bf16_bits(RNG.standard_normal((r, OUT)) * 0.02)
        da, dbt = cp.asarray(a), cp.asarray(bt)
        keep += [da, dbt]
        segs.append((start, end, r, a, bt, 2.0 / r, da, dbt))
    stride = 128
    want_s, want_dy = ref_lora(x, [s[:6] for s in segs], stride, OUT)
    y0 = RNG.standard_normal((T, OUT)).astype(np.float32)
    ds = cp.zeros((T, stride), cp.float32)
    dy = cp.asarray(y0)
    g = len(segs)
    starts = cp.asarray(np.array([s[0] for s in segs], np.int32))
    ends = cp.asarray(np.array([s[1] for s in segs], np.int32))
    ranks = cp.asarray(np.array([s[2] for s in segs], np.int32))
    scales = cp.asarray(np.array([s[5] for s in segs], np.float32))
    a_ptrs = cp.asarray(np.array([s[6].data.ptr for s in segs], np.uint64))
    bt_ptrs = cp.asarray(np.array([s[7].data.ptr for s in segs], np.uint64))
    lora.get_function("sgmv_shrink")((g, 64), (256,), (cp.asarray(x), ds, starts, ends, ranks, a_ptrs, scales, i32(IN), i32(stride)))
    lora.get_function("sgmv_expand")((g, (OUT + 127) // 128, (T + 15) // 16), (128,), (ds, dy, starts, ends, ranks, bt_ptrs, i32(OUT),
                                                                                    i32(OUT), i32(stride)))
    got_s = ds.get()
    for start, end, r, *_ in segs:
        check(f"sgmv_shrink rank {r}", want_s[start:end, :r], got_s[start:end, :r], rtol=1e-4, atol=1e-6)
    check("sgmv_expand (base rows untouched)", y0 + want_dy, dy.get(), rtol=1e-4, atol=1e-5)
    # the same update into the second half of a fused [T, 2 * OUT] output (up inside gate|up): the first half untouched
    fused0 = RNG.standard_normal((T, 2 * OUT)).astype(np.float32)
    fused = cp.asarray(fused0)
    lora.get_function("sgmv_expand")((g, (OUT + 127) // 128, (T + 15) // 16), (128,), (ds, fused[:, OUT:], starts, ends, ranks, bt_ptrs,
                                                                                    i32(OUT), i32(2 * OUT), i32(stride)))
    want = fused0.copy()
    want[:, OUT:] += want_dy
    check("sgmv_expand into a fused output (ldy)", want, fused.get(), rtol=1e-4, atol=1e-5)

    # paged attention: 3 sequences in scrambled blocks of 16, GQA 32/8 heads of 64, and stories260K's 8/4 heads of 8
    for heads, kvh, D in ((32, 8, 64), (8, 4, 8)):
        block, max_blocks, lens = 16, 8, [1, 37, 128]
        kv_dim = kvh * D
        blocks = RNG.permutation(len(lens) * max_blocks).astype(np.int32).reshape(len(lens), max_blocks)
        kc = cp.zeros((len(lens) * max_blocks * block, kv_dim), cp.uint16)
        vc = cp.zeros_like(kc)
        ks = [RNG.standard_normal((n, kvh, D)).astype(np.float32) for n in lens]
        vs = [RNG.standard_normal((n, kvh, D)).astype(np.float32) for n in lens]
        seq = np.concatenate([np.full(n, s, np.int32) for s, n in enumerate(lens)])
        pos = np.concatenate([np.arange(n, dtype=np.int32) for n in lens])
        attn.get_function("kv_store")((seq.size,), (128,), (cp.asarray(np.concatenate(ks).reshape(-1, kv_dim)),
                                                           cp.asarray(np.concatenate(vs).reshape(-1, kv_dim)), kc, vc,
                                                           cp.asarray(seq), cp.asarray(pos), cp.asarray(blocks), i32(max_blocks),
                                                           i32(block), i32(kv_dim)))
        where = (blocks[seq, pos // block] * block + pos % block)
        check(f"kv_store {heads}/{kvh}x{D}", bf16_bits(np.concatenate(ks).reshape(-1, kv_dim)), kc.get()[where], rtol=0)
        # every position of every sequence queries at once (prefill), and the last alone (decode)
        q = RNG.standard_normal((seq.size, heads, D)).astype(np.float32)
        out = cp.zeros((seq.size, heads, D), cp.uint16)
        attn.get_function("paged_attention")((seq.size, kvh), (32 * (heads // kvh),), (cp.asarray(q), out, kc, vc, cp.asarray(seq),
                                                                                       cp.asarray(pos), cp.asarray(blocks), i32(max_blocks),
                                                                                       i32(block), i32(heads), i32(kvh), i32(D),
                                                                                       f32(1 / np.sqrt(D))))
        kr = [widen(bf16_bits(a)) for a in ks]
        vr = [widen(bf16_bits(a)) for a in vs]
        check(f"paged_attention {heads}/{kvh}x{D}", ref_attention(q, kr, vr, seq, pos, lens, heads, kvh), widen(out.get()),
              rtol=2 ** -7, atol=2e-3)


if __name__ == "__main__":
    self_check_references()
    if "--references" not in sys.argv:
        run_device(sys.argv[1] if len(sys.argv) > 1 else "target/classes/dev/loraxj/backend/cuda/ptx")
    print("FAILED: " + ", ".join(FAILURES) if FAILURES else "all kernel checks passed")
    sys.exit(1 if FAILURES else 0)
