"""PyTorch reference timings for `npm run bench` (never imported by lorakit; run with Debian's /usr/bin/python3).

  /usr/bin/python3 scripts/bench/torch_reference.py info [--json]   # which BLAS torch uses, threads, OPENBLAS_* env
  /usr/bin/python3 scripts/bench/torch_reference.py train qv|all
  /usr/bin/python3 scripts/bench/torch_reference.py prefill [B]
  /usr/bin/python3 scripts/bench/torch_reference.py decode 1|8
  /usr/bin/python3 scripts/bench/torch_reference.py threads [R]     # `train qv` tokens/s per (BLAS, torch) threads

Install: `apt-get install -y python3-torch libopenblas0-pthread`. Debian's torch links the generic libblas.so.3, which
resolves through update-alternatives; without OpenBLAS it is the reference (netlib) BLAS, ~20x slower here. A timing
mode on the reference BLAS prints why it refuses and exits 3 instead of reporting a figure. To see the refusal on a
machine with OpenBLAS: `apt-get install -y libblas3`, then run with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas.

The model is the Llama-shaped 29.5M reference (hidden 512, 8 layers, 8 heads, intermediate 1376, vocab 8192, tied),
random weights, eager PyTorch as in scripts/fixtures/hf_reference.py. A timing mode prints one JSON line on stdout
and the BLAS report on stderr. Threads: 1 torch thread + 2 OpenBLAS threads (the fastest setting here; `threads`
measures it), overridable with OPENBLAS_NUM_THREADS and LK_TORCH_THREADS.
"""
import ctypes
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
TORCH_THREADS = int(os.environ.get("LK_TORCH_THREADS", "1"))
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from hf_reference import llama_forward, rms_norm, rope_cos_sin, apply_rotary_pos_emb, repeat_kv  # noqa: E402,F401

torch.set_num_threads(TORCH_THREADS)
torch.manual_seed(0)
CFG = dict(model_type="llama", hidden_size=512, num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=8,
           intermediate_size=1376, vocab_size=8192, rms_norm_eps=1e-6, rope_theta=10000.0, hidden_act="silu",
           tie_word_embeddings=True, max_position_embeddings=2048)
REFUSED = 3  # exit status of a timing mode that will not report (reference BLAS)


# ----------------------------------------------------------------------------------------------- which BLAS

class DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p), ("dli_sname", ctypes.c_char_p),
                ("dli_saddr", ctypes.c_void_p)]


def sgemm_provider():
    """The file whose sgemm_ torch's own libraries bind to (dlsym from torch._C's handle, then dladdr)."""
    fn = ctypes.CDLL(torch._C.__file__).sgemm_
    info = DlInfo()
    if not ctypes.CDLL(None).dladdr(ctypes.cast(fn, ctypes.c_void_p), ctypes.byref(info)):
        return None
    return os.path.realpath(info.dli_fname.decode())


def mapped_blas():
    """BLAS-like shared objects mapped into this process after a matmul (/proc/self/maps), as the loader resolved them."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            name = os.path.basename(parts[5]) if len(parts) >= 6 else ""
            if re.search(r"blas|blis|mkl_rt|atlas|lapack", name):
                libs.add(parts[5])
    return sorted(libs)


def classify(path):
    """'openblas' | 'blis' | 'mkl' | 'atlas' | 'reference' | 'unknown', from the file that provides sgemm_."""
    low = (path or "").lower()
    for kind in ("openblas", "blis", "mkl", "atlas"):
        if kind in low:
            return kind
    # Debian's netlib package (libblas3) installs /usr/lib/<triplet>/blas/libblas.so.3.
    return "reference" if re.search(r"/blas/libblas\.so", low) else "unknown"


def openblas_details(path):
    for p in [path]:
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return {"config": lib.openblas_get_config().decode(), "core": lib.openblas_get_corename().decode(),
                    "threads": lib.openblas_get_num_threads()}
        except (OSError, AttributeError):
            continue
    return None


def alternatives():
    if not shutil.which("update-alternatives"):
        return None
    r = subprocess.run(["update-alternatives", "--query", "libblas.so.3-x86_64-linux-gnu"], capture_output=True, text=True)
    return next((ln.split(": ", 1)[1] for ln in r.stdout.splitlines() if ln.startswith("Value: ")), None)


def blas_report():
    libs = mapped_blas()
    sgemm = sgemm_provider()
    kind = classify(sgemm)
    cfg = torch.__config__.show()
    build = dict(re.findall(r"(BLAS_INFO|LAPACK_INFO)=([^,\s]+)", cfg))
    rep = {"torch": torch.__version__, "build": build, "kind": kind, "sgemm": sgemm, "mapped": libs, "alternative": alternatives(),
           "openblas": openblas_details(sgemm) if kind == "openblas" else None,
           "torch_threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
           "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_")}, "config": cfg}
    if kind == "reference":
        rep["refused"] = (f"torch runs on the reference (netlib) BLAS (sgemm_ from {sgemm}), which is ~20x slower than an "
                          "optimized BLAS: no reference figure is reported. Fix: apt-get install -y libopenblas0-pthread")
    return rep


def summary(rep):
    ob = rep["openblas"]
    blas = f"{rep['kind']} {ob['config']} (core {ob['core']}, {ob['threads']} threads)" if ob else rep["kind"]
    env = " ".join(f"{k}={v}" for k, v in rep["env"].items()) or "(none)"
    return (f"torch {rep['torch']} (BLAS_INFO={rep['build'].get('BLAS_INFO')}), sgemm_ from {rep['sgemm'] or '?'}"
            f" [{blas}], torch threads {rep['torch_threads']}, OPENBLAS_*: {env}")


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
    med = sorted(times[1:])[len(times[1:]) // 2]  # median step after the first (warm-up)
    return {"mode": f"train_{targets}", "tokens_per_s": B * T / med, "step_s": med, "peak_rss_mb": peak_rss_mb()}


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
    med = sorted(t)[len(t) // 2]
    return {"mode": f"prefill_b{B}", "tokens_per_s": B * T / med, "peak_rss_mb": peak_rss_mb()}


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
            gate = torch.nn.functional.silu(m @ W[f"{p}.mlp.gate_proj.weight"].t())
            x = x + (gate * (m @ W[f"{p}.mlp.up_proj.weight"].t())) @ W[f"{p}.mlp.down_proj.weight"].t()
        x = rms_norm(x[:, -1:], W["model.norm.weight"], CFG["rms_norm_eps"])
        return (x @ W["model.embed_tokens.weight"].t())[:, -1].argmax(-1, keepdim=True)

    tok = step(ids, torch.arange(prompt)[None].expand(B, prompt))
    t0 = time.perf_counter()
    for s in range(new):
        tok = step(tok, torch.full((B, 1), prompt + s))
    dt = time.perf_counter() - t0
    return {"mode": f"decode_b{B}", "tokens_per_s": B * new / dt, "peak_rss_mb": peak_rss_mb()}


def thread_sweep(rounds=2):
    """Median `train qv` tokens/s per (OPENBLAS_NUM_THREADS, torch threads), interleaved rounds, each in its own process."""
    combos = [(b, t) for b in (1, 2) for t in (1, 2)]
    got = {c: [] for c in combos}
    for _ in range(rounds):
        for b, t in combos:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(b), LK_TORCH_THREADS=str(t))
            r = subprocess.run([sys.executable, __file__, "train", "qv"], env=env, capture_output=True, text=True)
            if r.returncode == 0:
                got[(b, t)].append(json.loads(r.stdout.strip().splitlines()[-1])["tokens_per_s"])
    rows = [{"openblas_threads": b, "torch_threads": t, "tokens_per_s": sorted(v)[len(v) // 2] if v else None, "runs": len(v)}
            for (b, t), v in got.items()]
    return {"mode": "threads", "rounds": rounds, "rows": rows}


if __name__ == "__main__":
    what = sys.argv[1]
    rep = blas_report()
    if what == "info":
        if "--json" in sys.argv:
            print(json.dumps({**rep, "summary": summary(rep)}))
        else:
            print(rep["config"])
            print(summary(rep))
            print("mapped after a matmul (/proc/self/maps):", ", ".join(rep["mapped"]))
            print("update-alternatives libblas.so.3:", rep["alternative"])
            if "refused" in rep:
                print("REFUSED:", rep["refused"])
        sys.exit(REFUSED if "refused" in rep else 0)
    print(summary(rep), file=sys.stderr)
    if "refused" in rep:
        print(json.dumps({"mode": what, "refused": rep["refused"], "blas": rep["kind"]}))
        print("REFUSED:", rep["refused"], file=sys.stderr)
        sys.exit(REFUSED)
    if what == "train":
        out = train(sys.argv[2])
    elif what == "prefill":
        out = prefill(B=int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    elif what == "decode":
        out = decode(int(sys.argv[2]))
    elif what == "threads":
        out = thread_sweep(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    else:
        sys.exit(f"unknown mode {what!r}: info | train qv|all | prefill [B] | decode B | threads")
    out.update(blas=rep["kind"], openblas_threads=(rep["openblas"] or {}).get("threads"), torch_threads=rep["torch_threads"],
               openblas_env=rep["env"])
    print(json.dumps(out))
