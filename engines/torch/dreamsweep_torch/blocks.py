"""The pieces every family is built from (nanoGPT's model.py is the pattern): norms, rotary tables, attention with
grouped-query heads and prefix reuse, plain or gated MLP, and the block. Each follows transformers' modeling code
for the families that use it; `cfg` is the shared ModelConfig (TransformerLens names, docs/models.md).

Shapes: B batch, m positions in this call (start..start+m-1), d dModel, H query heads, Hkv key/value heads,
dh dHead, r rotaryDim, M dMlp."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTS = {
    "gelu": F.gelu,  # exact (erf)
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),  # GPT-2's tanh approximation
    "silu": F.silu,
}


class LayerNorm(nn.Module):
    """Weight and bias, biased variance (NeoX, GPT-2)."""

    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d))
        self.bias = nn.Parameter(torch.empty(d))
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)


class RMSNorm(nn.Module):
    """x * rsqrt(mean(x^2) + eps) in float32, cast back, times the weight (transformers' LlamaRMSNorm)."""

    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def norm(cfg, d):
    return LayerNorm(d, cfg["eps"]) if cfg["normalization"] == "LN" else RMSNorm(d, cfg["eps"])


def llama3_inv_freq(inv, s):
    """transformers' _compute_llama3_parameters: long wavelengths divided by `factor`, short ones kept, a smooth
    blend between."""
    factor, low, high, old = s["factor"], s["lowFreqFactor"], s["highFreqFactor"], s["originalMaxPositions"]
    wavelen = 2 * math.pi / inv
    scaled = torch.where(wavelen > old / low, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old / high) * ~(wavelen > old / low)
    return torch.where(medium, smoothed, scaled)


class Rotary:
    """cos, sin tables [n, r] computed in float32 as transformers does, cast to the compute dtype; rotate_half on
    the first r dims of each head (split halves, not interleaved), the rest pass through."""

    def __init__(self, cfg):
        self.r = cfg["rotaryDim"]
        self.base = cfg["rotaryBase"]
        self.scaling = cfg.get("ropeScaling")
        self._tables = None  # (cos, sin) for positions 0..n-1; a longer request recomputes (same values)

    def tables(self, start, m, device, dtype):
        n = start + m
        if self._tables is None or self._tables[0].shape[0] < n or self._tables[0].device != device or self._tables[0].dtype != dtype:
            r = self.r
            inv = 1.0 / (self.base ** (torch.arange(0, r, 2, dtype=torch.int64, device=device).float() / r))  # [r/2]
            if self.scaling:
                inv = llama3_inv_freq(inv, self.scaling)
            freqs = torch.outer(torch.arange(n, device=device, dtype=torch.float32), inv)  # [n, r/2]
            emb = torch.cat([freqs, freqs], dim=-1)  # [n, r]
            self._tables = (emb.cos().to(dtype), emb.sin().to(dtype))
        cos, sin = self._tables
        return cos[start:n], sin[start:n]

    def __call__(self, x, cos, sin):
        """x [B, heads, m, dh] -> the same with its first r dims rotated."""
        r = self.r
        rot, rest = x[..., :r], x[..., r:]
        half = r // 2
        rotated = torch.cat([-rot[..., half:], rot[..., :half]], dim=-1)
        return torch.cat([rot * cos + rotated * sin, rest], dim=-1)


class Attention(nn.Module):
    """Causal self-attention, one fused projection for q, k, v (rows [q heads | k heads | v heads]); grouped-query
    (key/value head j serves query heads j*H/Hkv .. (j+1)*H/Hkv-1); Qwen 3's per-head RMSNorm of q and k before
    rotary; scale 1/sqrt(dh)."""

    def __init__(self, cfg):
        super().__init__()
        d, self.H, self.Hkv, self.dh = cfg["dModel"], cfg["nHeads"], cfg["nKvHeads"], cfg["dHead"]
        self.qkv = nn.Linear(d, (self.H + 2 * self.Hkv) * self.dh, bias=cfg["qkvBias"])
        self.out = nn.Linear(self.H * self.dh, d, bias=cfg["attnOutBias"])
        self.q_norm = RMSNorm(self.dh, cfg["eps"]) if cfg["qkNorm"] else None
        self.k_norm = RMSNorm(self.dh, cfg["eps"]) if cfg["qkNorm"] else None

    def forward(self, x, rotary, start, past, keep):
        """x [B, m, d] (normed) at positions start..start+m-1; past: (K, V) [B, Hkv, start, dh] of the positions
        before, or None; keep: a list that receives this layer's full (K, V). -> [B, m, d]"""
        B, m, _ = x.shape
        H, Hkv, dh = self.H, self.Hkv, self.dh
        q, k, v = self.qkv(x).split([H * dh, Hkv * dh, Hkv * dh], dim=-1)
        q, k, v = q.view(B, m, H, dh), k.view(B, m, Hkv, dh), v.view(B, m, Hkv, dh)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, heads, m, dh]
        if rotary is not None:
            cos, sin = rotary.tables(start, m, x.device, x.dtype)
            q, k = rotary(q, cos, sin), rotary(k, cos, sin)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # [B, Hkv, start+m, dh]
            v = torch.cat([past[1], v], dim=2)
        if keep is not None:
            keep.append((k, v))
        if Hkv != H:
            k, v = k.repeat_interleave(H // Hkv, dim=1), v.repeat_interleave(H // Hkv, dim=1)  # [B, H, start+m, dh]
        if start == 0:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            # Query start+i sees keys 0..start+i (SDPA's is_causal aligns top-left, so spell the mask out).
            qpos = torch.arange(start, start + m, device=x.device)[:, None]
            mask = torch.arange(start + m, device=x.device)[None, :] <= qpos
            z = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(z.transpose(1, 2).reshape(B, m, H * dh))


class MLP(nn.Module):
    """out(act(in(x))), or gated: out(act(gate(x)) * up(x)) with gate and up fused in `fc_in` (rows [gate | up])."""

    def __init__(self, cfg):
        super().__init__()
        d, M = cfg["dModel"], cfg["dMlp"]
        self.gated = cfg["gatedMlp"]
        self.fc_in = nn.Linear(d, (2 if self.gated else 1) * M, bias=cfg["mlpBias"])
        self.fc_out = nn.Linear(M, d, bias=cfg["mlpBias"])
        self.act = ACTS[cfg["act"]]

    def forward(self, x):
        """x [B, m, d] -> (post [B, m, M]: what enters fc_out, the mlp_post tap; out [B, m, d])"""
        h = self.fc_in(x)
        if self.gated:
            gate, up = h.chunk(2, dim=-1)
            post = self.act(gate) * up
        else:
            post = self.act(h)
        return post, self.fc_out(post)


class Block(nn.Module):
    """Serial: x + attn(ln1(x)), then + mlp(ln2(.)); parallel (NeoX/Pythia): x + attn(ln1(x)) + mlp(ln2(x))."""

    def __init__(self, cfg):
        super().__init__()
        self.ln1 = norm(cfg, cfg["dModel"])
        self.attn = Attention(cfg)
        self.ln2 = norm(cfg, cfg["dModel"])
        self.mlp = MLP(cfg)
        self.parallel = cfg["parallelAttnMlp"]

    def forward(self, x, rotary, start, past, keep):
        """x [B, m, d] -> (resid_post [B, m, d], mlp_post [B, m, M], mlp_out [B, m, d])"""
        a = self.attn(self.ln1(x), rotary, start, past, keep)
        h = x if self.parallel else a + x
        post, out = self.mlp(self.ln2(h))
        return (out + a + x if self.parallel else out + h), post, out
