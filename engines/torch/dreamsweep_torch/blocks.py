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
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),  # GPT-2's tanh approximation (Gemma's gelu_pytorch_tanh)
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
    """x * rsqrt(mean(x^2) + eps) in float32, cast back, times the weight (transformers' LlamaRMSNorm); plus_one
    (Gemma): x * rsqrt(mean(x^2) + eps) * (1 + w) all in float32, then cast (Gemma2RMSNorm, Gemma3RMSNorm)."""

    def __init__(self, d, eps, plus_one=False):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d))
        self.eps = eps
        self.plus_one = plus_one

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        if self.plus_one:
            return (x * (1.0 + self.weight.float())).to(dtype)
        return self.weight * x.to(dtype)


def norm(cfg, d):
    if cfg["normalization"] == "LN":
        return LayerNorm(d, cfg["eps"])
    return RMSNorm(d, cfg["eps"], bool(cfg.get("normPlusOne")))


def softcap(x, c):
    """tanh(x / c) * c in float32 (Gemma's soft-capping of attention scores and final logits); c falsy: x as is."""
    return torch.tanh(x.float() / c) * c if c else x


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
    the first r dims of each head (split halves, not interleaved), the rest pass through. Scaling: llama3, or
    linear (inverse frequencies divided by the factor). base/scaling override the config's (Gemma 3's sliding
    layers: localRotaryBase, no scaling)."""

    def __init__(self, cfg, base=None, scaling="config"):
        self.r = cfg["rotaryDim"]
        self.base = cfg["rotaryBase"] if base is None else base
        self.scaling = cfg.get("ropeScaling") if scaling == "config" else scaling
        self._tables = None  # (cos, sin) for positions 0..n-1; a longer request recomputes (same values)

    def tables(self, start, m, device, dtype):
        n = start + m
        if self._tables is None or self._tables[0].shape[0] < n or self._tables[0].device != device or self._tables[0].dtype != dtype:
            r = self.r
            inv = 1.0 / (self.base ** (torch.arange(0, r, 2, dtype=torch.int64, device=device).float() / r))  # [r/2]
            if self.scaling and self.scaling["type"] == "linear":
                inv = inv / self.scaling["factor"]
            elif self.scaling:
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
    (key/value head j serves query heads j*H/Hkv .. (j+1)*H/Hkv-1); per-head RMSNorm of q and k before rotary
    (Qwen 3, Gemma 3); scale attnScale (Gemma: query_pre_attn_scalar^-0.5), else 1/sqrt(dh); Gemma 2's soft-capped
    scores (tanh(s / c) * c before the mask, in float32); on a sliding layer key j is visible from query i iff
    i - W < j <= i."""

    def __init__(self, cfg, sliding=False):
        super().__init__()
        d, self.H, self.Hkv, self.dh = cfg["dModel"], cfg["nHeads"], cfg["nKvHeads"], cfg["dHead"]
        self.qkv = nn.Linear(d, (self.H + 2 * self.Hkv) * self.dh, bias=cfg["qkvBias"])
        self.out = nn.Linear(self.H * self.dh, d, bias=cfg["attnOutBias"])
        plus_one = bool(cfg.get("normPlusOne"))
        self.q_norm = RMSNorm(self.dh, cfg["eps"], plus_one) if cfg["qkNorm"] else None
        self.k_norm = RMSNorm(self.dh, cfg["eps"], plus_one) if cfg["qkNorm"] else None
        self.scale = cfg.get("attnScale") or 1.0 / math.sqrt(self.dh)
        self.sdpa_scale = {"scale": self.scale} if cfg.get("attnScale") else {}  # SDPA's default is 1/sqrt(dh); `scale` needs torch 2.1
        self.softcap = cfg.get("attnSoftcap")
        self.window = cfg.get("slidingWindow") if sliding else None

    def forward(self, x, rotary, start, past, keep, packed=None):
        """x [B, m, d] (normed) at positions start..start+m-1; past: (K, V) [B, Hkv, start, dh] of the positions
        before, or None; keep: a list that receives this layer's full (K, V). -> [B, m, d]
        packed (a Packed): x is [T, d], rows of different starts packed; past is then this layer's padded (K, V)."""
        if packed is not None:
            return self._packed(x, rotary, past, packed)
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
        n = start + m
        mask = None
        if start > 0 or self.window or self.softcap:
            # Query start+i sees keys 0..start+i (SDPA's is_causal aligns top-left, so spell the mask out), on a
            # sliding layer only the last W of them; absolute positions, so prefix reuse sees the same window.
            qpos = torch.arange(start, n, device=x.device)[:, None]
            kpos = torch.arange(n, device=x.device)[None, :]
            mask = kpos <= qpos
            if self.window and self.window < n:
                mask = mask & (kpos > qpos - self.window)
        if self.softcap:
            s = softcap(q @ k.transpose(-1, -2) * self.scale, self.softcap)  # [B, H, m, n] float32
            s = s.masked_fill(~mask, -torch.inf)
            z = torch.softmax(s, -1).to(v.dtype) @ v
        elif mask is None:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True, **self.sdpa_scale)
        else:
            z = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **self.sdpa_scale)
        return self.out(z.transpose(1, 2).reshape(B, m, H * dh))

    def _packed(self, x, rotary, past, pk):
        """x [T, d] (normed), token t at row pk.row[t], position pk.pos[t]; past: (K, V) [B, n, Hkv, dh], each row's
        parent's keys/values, or None. The projections run on the T packed tokens; only attention runs padded
        [B, heads, n, dh]: the parent's keys/values with the row's own written over them from its start on, so
        query i sees keys 0..i (the causal mask over the whole n, top-left aligned). -> [T, d]"""
        T = x.shape[0]
        H, Hkv, dh = self.H, self.Hkv, self.dh
        B, n = pk.B, pk.n
        q, k, v = self.qkv(x).split([H * dh, Hkv * dh, Hkv * dh], dim=-1)
        q, k, v = q.view(T, H, dh), k.view(T, Hkv, dh), v.view(T, Hkv, dh)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if rotary is not None:
            cos, sin = pk.rotary(rotary, x.dtype)
            q, k = rotary(q, cos, sin), rotary(k, cos, sin)

        def padded(t, base):
            # index_copy_, not a boolean-mask assignment: no host synchronisation
            full = base.reshape(B * n, *t.shape[1:]).clone() if base is not None else t.new_zeros(B * n, *t.shape[1:])
            return full.index_copy_(0, pk.flat, t).view(B, n, -1, dh).transpose(1, 2)  # [B, heads, n, dh]

        q = padded(q, None)
        k, v = padded(k, past[0] if past else None), padded(v, past[1] if past else None)
        if Hkv != H:
            k, v = k.repeat_interleave(H // Hkv, dim=1), v.repeat_interleave(H // Hkv, dim=1)
        mask = pk.mask(self.window) if self.window or self.softcap else None
        if self.softcap:
            s = softcap(q @ k.transpose(-1, -2) * self.scale, self.softcap)  # [B, H, n, n] float32
            z = torch.softmax(s.masked_fill(~mask, -torch.inf), -1).to(v.dtype) @ v
        elif mask is None:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True, **self.sdpa_scale)
        else:
            z = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **self.sdpa_scale)
        return self.out(z.transpose(1, 2).reshape(B * n, H * dh).index_select(0, pk.flat))


class Packed:
    """The layout of a packed pass (engine.py's prefix reuse): B rows of n positions, row b from its start s_b
    (0..n-1) on; its tokens packed one row after another, T = sum(n - s_b). Built from host lists, once per pass:
    row [T], pos [T], flat [T] (row * n + pos: the padded [B, n] layout), last [B] (each row's last token)."""

    def __init__(self, starts, n, device):
        self.B, self.n = len(starts), n
        s = torch.tensor(starts, dtype=torch.int64)
        lens = n - s
        self.row_host = torch.repeat_interleave(torch.arange(self.B), lens)
        first = torch.cumsum(lens, 0) - lens  # each row's first token in the packing
        self.pos_host = torch.arange(int(lens.sum())) - first[self.row_host] + s[self.row_host]
        self.row, self.pos = self.row_host.to(device), self.pos_host.to(device)
        self.flat = self.row * n + self.pos
        self.last = (first + lens - 1).to(device)
        self._rotary, self._masks = {}, {}

    def rotary(self, rotary, dtype):
        """cos, sin [T, 1, r] at each token's position, per rotary table (once per pass)."""
        key = (id(rotary), dtype)
        if key not in self._rotary:
            cos, sin = rotary.tables(0, self.n, self.pos.device, dtype)
            self._rotary[key] = (cos[self.pos][:, None], sin[self.pos][:, None])
        return self._rotary[key]

    def mask(self, window):
        """[n, n] bool, query i sees key j iff j <= i (and i - W < j on a sliding layer): once per pass and window."""
        if window not in self._masks:
            i = torch.arange(self.n, device=self.pos.device)
            m = i[None, :] <= i[:, None]
            if window and window < self.n:
                m = m & (i[None, :] > i[:, None] - window)
            self._masks[window] = m
        return self._masks[window]


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
    """Serial: x + attn(ln1(x)), then + mlp(ln2(.)); parallel (NeoX/Pythia): x + attn(ln1(x)) + mlp(ln2(x));
    postNorms (Gemma): h = x + post_attn_norm(attn(ln1(x))), then h + post_mlp_norm(mlp(ln2(h))), the mlp_out tap
    after post_mlp_norm. sliding: this layer attends within the sliding window (layerTypes)."""

    def __init__(self, cfg, sliding=False):
        super().__init__()
        self.ln1 = norm(cfg, cfg["dModel"])
        self.attn = Attention(cfg, sliding)
        self.ln2 = norm(cfg, cfg["dModel"])
        self.mlp = MLP(cfg)
        self.parallel = cfg["parallelAttnMlp"]
        post = bool(cfg.get("postNorms"))
        self.post_attn_norm = norm(cfg, cfg["dModel"]) if post else None
        self.post_mlp_norm = norm(cfg, cfg["dModel"]) if post else None

    def forward(self, x, rotary, start, past, keep, packed=None):
        """x [B, m, d] (or packed [T, d]) -> (resid_post [B, m, d], mlp_post [B, m, M], mlp_out [B, m, d])"""
        a = self.attn(self.ln1(x), rotary, start, past, keep, packed)
        if self.post_attn_norm is not None:
            a = self.post_attn_norm(a)
        h = x if self.parallel else a + x
        post, out = self.mlp(self.ln2(h))
        if self.post_mlp_norm is not None:
            out = self.post_mlp_norm(out)
        return (out + a + x if self.parallel else out + h), post, out
