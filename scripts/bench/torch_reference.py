"""PyTorch reference timings for `npm run bench` (never imported by lorakit; run with Debian's /usr/bin/python3).

  /usr/bin/python3 scripts/bench/torch_reference.py train qv|all
  /usr/bin/python3 scripts/bench/torch_reference.py prefill
  /usr/bin/python3 scripts/bench/torch_reference.py decode 1|8

The model is FORMATS.md's Llama-shaped 25M reference (hidden 512, 8 layers, 8 heads, intermediate 1376, vocab 8192,
tied), random weights, eager PyTorch as in scripts/fixtures/hf_reference.py. Prints one JSON line.
Threads: 1 torch thread + 2 OpenBLAS threads, which FORMATS.md measured as the reference's fastest setting.
"""
import json
import os
import resource
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from hf_reference import llama_forward, rms_norm, rope_cos_sin, apply_rotary_pos_emb, repeat_kv  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
CFG = dict(model_type="llama", hidden_size=512, num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=8,
           intermediate_size=1376, vocab_size=8192, rms_norm_eps=1e-6, rope_theta=10000.0, hidden_act="silu",
           tie_word_embeddings=True, max_position_embeddings=2048)


def weights():
    H, I, V = CFG["hidden_size"], CFG["intermediate_size"], CFG["vocab_size"]
    W = {"model.embed_tokens.weight": torch.randn(V, H) * 0.02, "model.norm.weight": torch.ones(H)}
    for i in range(CFG["num_hidden_layers"]):
        p = f"model.layers.{i}"
        for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
            W[f"{p}.self_attn.{n}.weight"] = torch.randn(H, H) * 0.02
        W[f"{p}.mlp.gate_proj.weight"] = torch.randn(I, H) * 0.02
        W[f"{p}.mlp.up_proj.weight"] = torch.randn(I, H) * 0.02
        W[f"{p}.mlp.down_proj.weight"] = torch.randn(H, I) * 0.02
        W[f"{p}.input_layernorm.weight"] = torch.ones(H)
        W[f"{p}.post_attention_layernorm.weight"] = torch.ones(H)
    return W


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(targets, steps=6, B=4, T=256, r=16):
    W = weights()
    mods = ["q_proj", "v_proj"] if targets == "qv" else ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    lora = {}
    params = []
    for name, w in W.items():
        if any(name.endswith(f"{m}.weight") for m in mods):
            out_f, in_f = w.shape
            A = (torch.rand(r, in_f) * 2 - 1) / in_f ** 0.5
            Bm = torch.zeros(out_f, r)
            A.requires_grad_(True)
            Bm.requires_grad_(True)
            lora[name[: -len(".weight")]] = (A, Bm, 2.0)
            params += [A, Bm]
    opt = torch.optim.AdamW(params, lr=1e-4)
    ids = torch.randint(0, CFG["vocab_size"], (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    times = []
    for s in range(steps):
        t0 = time.perf_counter()
        logits = llama_forward(CFG, W, ids, mask, lora=lora)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, CFG["vocab_size"]), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    best = sorted(times[1:])[len(times[1:]) // 2]
    return {"mode": f"train_{targets}", "tokens_per_s": B * T / best, "step_s": best, "peak_rss_mb": peak_rss_mb()}


@torch.no_grad()
def prefill(B=1, T=256, reps=5):
    W = weights()
    ids = torch.randint(0, CFG["vocab_size"], (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    llama_forward(CFG, W, ids, mask)
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        llama_forward(CFG, W, ids, mask)
        t.append(time.perf_counter() - t0)
    return {"mode": f"prefill_b{B}", "tokens_per_s": B * T / min(t), "peak_rss_mb": peak_rss_mb()}


@torch.no_grad()
def decode(B, prompt=32, new=64):
    """Greedy decoding with a KV cache (concatenating k/v per step), eager."""
    W = weights()
    H, nh = CFG["hidden_size"], CFG["num_attention_heads"]
    hd = H // nh
    L = CFG["num_hidden_layers"]
    ids = torch.randint(0, CFG["vocab_size"], (B, prompt))
    cache = [None] * L

    def step(tok, pos):
        Bq, T = tok.shape
        x = torch.nn.functional.embedding(tok, W["model.embed_tokens.weight"])
        cos, sin = rope_cos_sin(CFG, pos)
        for i in range(L):
            p = f"model.layers.{i}"
            h = rms_norm(x, W[f"{p}.input_layernorm.weight"], CFG["rms_norm_eps"])
            q = (h @ W[f"{p}.self_attn.q_proj.weight"].t()).view(Bq, T, nh, hd).transpose(1, 2)
            k = (h @ W[f"{p}.self_attn.k_proj.weight"].t()).view(Bq, T, nh, hd).transpose(1, 2)
            v = (h @ W[f"{p}.self_attn.v_proj.weight"].t()).view(Bq, T, nh, hd).transpose(1, 2)
            q, k = apply_rotary_pos_emb(q, k, cos, sin)
            if cache[i] is not None:
                k = torch.cat([cache[i][0], k], 2)
                v = torch.cat([cache[i][1], v], 2)
            cache[i] = (k, v)
            S = k.shape[2]
            w = (q @ k.transpose(2, 3)) * hd ** -0.5
            if T > 1:
                w = w + torch.triu(torch.full((T, S), float("-inf")), 1 + S - T)
            a = (torch.softmax(w, -1) @ v).transpose(1, 2).reshape(Bq, T, H)
            x = x + a @ W[f"{p}.self_attn.o_proj.weight"].t()
            m = rms_norm(x, W[f"{p}.post_attention_layernorm.weight"], CFG["rms_norm_eps"])
            x = x + (torch.nn.functional.silu(m @ W[f"{p}.mlp.gate_proj.weight"].t()) * (m @ W[f"{p}.mlp.up_proj.weight"].t())) @ W[f"{p}.mlp.down_proj.weight"].t()
        x = rms_norm(x[:, -1:], W["model.norm.weight"], CFG["rms_norm_eps"])
        return (x @ W["model.embed_tokens.weight"].t())[:, -1].argmax(-1, keepdim=True)

    tok = step(ids, torch.arange(prompt)[None].expand(B, prompt))
    t0 = time.perf_counter()
    for s in range(new):
        tok = step(tok, torch.full((B, 1), prompt + s))
    dt = time.perf_counter() - t0
    return {"mode": f"decode_b{B}", "tokens_per_s": B * new / dt, "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "train":
        print(json.dumps(train(sys.argv[2])))
    elif what == "prefill":
        print(json.dumps(prefill()))
    elif what == "decode":
        print(json.dumps(decode(int(sys.argv[2]))))
