"""Golden numbers for the dataset scan, from Hugging Face transformers (GPTNeoXForCausalLM, float32, eager attention).

For each case below this reads the fixture corpus (jsonl: one document per non-blank line, byte offset of its line),
tokenises every document on its own with the Python `tokenizers` library and the fixture's tokenizer.json (no
special tokens), forms the n-token windows at stride s exactly as core/corpus/windows.ts does, runs the model with
hidden states, takes resid_pre.L at the last token (hidden_states[L], the input of block L; for L = n_layers the
input of the final layer norm), standardises it over d_model with the *unbiased* std, dots it with the case's
vectors (test/fixtures/golden/scan-vectors-<model>.json, the sweeps' randomVectorSet(layers, 4, 2024, d_model)),
and writes to test/fixtures/golden/scan-<model>.json: windows, tokens, per (layer, vector) count/mean/std/max and
the top K windows (ids, alignment, CE, source), the windows' CE statistics and those of every prefix length. Statistics are float64 from the
float32 activations; the ranking is alignment descending, then (byteOffset, token) ascending, as in topk.ts.

The vectors files are written once from TypeScript, so they are exactly what the sweeps draw (the test checks it):
  npx tsx -e "import {writeFileSync as w} from 'node:fs'; import {randomVectorSet as r} from './core/objectives/vectors.ts';
    for (const [m, d, L] of [['tiny-parallel', 32, [0, 1, 2]], ['tiny-serial-rope1', 48, [0, 1, 2, 3]]])
      w('test/fixtures/golden/scan-vectors-' + m + '.json', JSON.stringify(Object.fromEntries([...r(L, 4, 2024, d)]
        .map(([l, vs]) => [l, vs.map((v) => Array.from(v))]))) + '\\n')"

Usage: python scripts/golden/scan_golden.py [repo_root]   (needs requirements.txt installed)
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import GPTNeoXForCausalLM

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
MODELS = ROOT / "test" / "fixtures" / "models"
GOLDEN = ROOT / "test" / "fixtures" / "golden"
CORPUS = "test/fixtures/corpus/smoke.jsonl"
K = 5
# (model, n, stride): one paper-like case (n = stride = 12) and one with overlapping windows.
CASES = [("tiny-parallel", 12, 12), ("tiny-serial-rope1", 8, 5)]


def documents(path):
    """(byte offset, text) of each non-blank line, as core/corpus/read.ts reads jsonl."""
    data = path.read_bytes()
    offset = 0
    for raw in data.split(b"\n"):
        line = raw.decode("utf-8")
        if line.endswith("\r"):
            line = line[:-1]
        if line.strip() != "":
            yield offset, json.loads(line)["text"]
        offset += len(raw) + 1


def windows(tok, path, n, stride):
    """(ids, byteOffset, token) of every window, in corpus order, and (documents, documentTokens)."""
    out, docs, doc_tokens = [], 0, 0
    for offset, text in documents(path):
        ids = tok.encode(text, add_special_tokens=False).ids
        docs += 1
        doc_tokens += len(ids)
        w = 0
        while w * stride + n <= len(ids):
            out.append((ids[w * stride : w * stride + n], offset, w * stride))
            w += 1
    return out, docs, doc_tokens


def resid_pre_and_ce(model, ids, n_layers):
    """resid_pre.L at the last token for L = 0..n_layers, [B, d] float32 each, and the next-token CE [B, n-1]."""
    final_in = {}
    hook = model.gpt_neox.final_layer_norm.register_forward_pre_hook(lambda m, args: final_in.__setitem__("x", args[0]))
    try:
        with torch.no_grad():
            out = model(input_ids=ids, output_hidden_states=True)
    finally:
        hook.remove()
    taps = {L: out.hidden_states[L][:, -1] for L in range(n_layers)}
    taps[n_layers] = final_in["x"][:, -1]
    logits = out.logits
    B, n, V = logits.shape
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1), reduction="none").view(B, n - 1)
    return taps, ce


def stats(values):
    v = np.asarray(values, dtype=np.float64)
    return {"count": int(v.size), "mean": float(v.mean()), "std": float(v.std(ddof=1)), "max": float(v.max()), "min": float(v.min())}


def golden(name, n, stride):
    path = MODELS / name
    model = GPTNeoXForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    n_layers = model.config.num_hidden_layers
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    corpus = ROOT / CORPUS
    wins, docs, doc_tokens = windows(tok, corpus, n, stride)
    ids = torch.tensor([w[0] for w in wins], dtype=torch.long)
    vectors = {int(L): np.asarray(vs, dtype=np.float32) for L, vs in json.loads((GOLDEN / f"scan-vectors-{name}.json").read_text()).items()}

    taps, ce_positions = resid_pre_and_ce(model, ids, n_layers)
    ce = ce_positions.mean(-1).double().numpy()
    # Prefix CE (paper Fig. 5a): the first m tokens' CE is the mean of positions 1..m-1, from the same pass.
    prefix = np.cumsum(ce_positions.double().numpy(), axis=1) / np.arange(1, n)
    by_length = [{"tokens": m, **{k: v for k, v in stats(prefix[:, m - 2]).items() if k in ("count", "mean", "std")}} for m in range(2, n + 1)]
    pairs = []
    for L in sorted(vectors):
        x = taps[L].double()  # [B, d]
        z = (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)  # unbiased std, as dreamy
        a = (z @ torch.from_numpy(vectors[L]).double().T).numpy()  # [B, vectors]
        for j in range(a.shape[1]):
            order = sorted(range(len(wins)), key=lambda b: (-a[b, j], wins[b][1], wins[b][2]))[:K]
            pairs.append({
                "layer": L,
                "vector": j,
                **{k: v for k, v in stats(a[:, j]).items() if k != "min"},
                "top": [{"ids": wins[b][0], "alignment": float(a[b, j]), "ce": float(ce[b]),
                         "source": {"byteOffset": wins[b][1], "token": wins[b][2]}} for b in order],
            })
    result = {
        "model": name,
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "corpus": CORPUS,
        "corpusSha256": hashlib.sha256((ROOT / CORPUS).read_bytes()).hexdigest(),
        "n": n,
        "stride": stride,
        "k": K,
        "windows": len(wins),
        "tokens": len(wins) * n,
        "documents": docs,
        "documentTokens": doc_tokens,
        "ce": stats(ce),
        "ceByLength": by_length,
        "pairs": pairs,
    }
    out = GOLDEN / f"scan-{name}.json"
    out.write_text(json.dumps(result) + "\n")
    print(f"{name}: {len(wins)} windows, {len(pairs)} pairs; wrote {out}")


if __name__ == "__main__":
    torch.manual_seed(0)
    for case in CASES:
        golden(*case)
