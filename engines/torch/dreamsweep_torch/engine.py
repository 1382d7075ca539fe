"""The engine protocol of core/engine.ts on a model.Transformer of any family: evaluate (with the prefix-reuse
hint), gradients (the one-hot gradient reduced to top-k on the device) and taps. Inputs arrive checked by the
TypeScript client."""

import math

import torch
import torch.nn.functional as F

from .blocks import Packed, softcap
from .errors import EngineUserError
from .taps import LOGITS, Tap


def objective_tap(obj):
    """The tap an objective reads, or None (the logit objective reads the last logits)."""
    if obj["kind"] == "resid":
        return Tap("resid_pre", obj["layer"])
    if obj["kind"] == "neuron":
        return Tap("mlp_post", obj["layer"])
    if obj["kind"] == "sae":
        return obj["_tap"]  # parsed once, where the request arrived
    return None


def objective_taps(obj):
    tap = objective_tap(obj)
    return [] if tap is None else [tap]


def _lse_(x, cap=None):
    """log-sum-exp over the last axis, overwriting x (a slab's logits, soft-capped first when cap): no temporaries,
    so the slab stays in cache."""
    x = x.float()
    if cap:
        x.div_(cap).tanh_().mul_(cap)
    m = x.amax(-1, keepdim=True)
    return x.sub_(m).exp_().sum(-1).log_().add_(m[:, 0])


class Unembed:
    """Cross-entropy from the final hidden states. On a CPU the [rows, dVocab] logits of a batch fall out of cache, and
    log_softmax over them runs at memory speed; with W_U in slabs of `columns` rows, each slab's log-sum-exp runs while
    its logits are in cache, the slabs' combine exactly, and a target's logit is one dot product with its row of W_U,
    so the whole logits never exist. On a GPU one product and cross_entropy are faster: columns None, no slabs.
    cap (Gemma 2's finalSoftcap): every logit here is tanh(l / cap) * cap, in float32."""

    def __init__(self, W_U, columns, cap=None):
        self.W_U = W_U  # [V, d]
        self.cap = cap
        V = W_U.shape[0]
        self.slabs = [W_U[i : i + columns].t().contiguous() for i in range(0, V, columns)] if columns and columns < V else None

    def logits(self, h):
        return softcap(F.linear(h, self.W_U), self.cap)

    def at(self, h, targets):
        """logits[r, targets[r]] in float32: h [R, d], targets [R] -> [R]."""
        return softcap((h.float() * self.W_U[targets].float()).sum(-1), self.cap)

    def lse(self, h):
        """log(sum(exp(logits))) per row in float32: h [R, d] -> [R]."""
        if self.slabs is None:
            return torch.logsumexp(self.logits(h).float(), -1)
        return torch.stack([_lse_(h @ s, self.cap) for s in self.slabs], -1).logsumexp(-1)

    def nll(self, h, targets):
        """-log_softmax(logits)[target] in float32: h [R, d], targets [R] -> [R]. In bf16/fp16 the target's logit is
        the float32 dot product (`at`), not the product's output rounded to 8 (11) bits."""
        if self.slabs is None:
            if self.W_U.dtype != torch.float32:
                return torch.logsumexp(self.logits(h).float(), -1) - self.at(h, targets)
            return F.cross_entropy(self.logits(h).float(), targets, reduction="none")
        return self.lse(h) - self.at(h, targets)

    def next_ce(self, h, targets):
        """Next-token CE from hidden states h [B, m, d] at positions 0..m-2 of targets [B, m-1] -> [B, m-1]."""
        B, m, d = h.shape
        return self.nll(h[:, :-1].reshape(-1, d), targets.reshape(-1)).view(B, m - 1)


def standardise(x):
    """(x - mean) / std over the last axis, std unbiased as dreamy's: the `resid` objective and the alignments."""
    return (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)


def sae_value(obj, x):
    """An SAE latent's activation from its tap's values x [B, d_in] (core/engine.ts's SaeObjective, the maths of
    core/model/objectives.ts's saeValue), in float32: normalise, minus bDec, then the latent's
    encoder and activation. Every comparison is a step (no gradient): the gradient flows through the
    pre-activation where the latent is active (and, for TopK, selected: the selection held fixed)."""
    x = x.float()
    d = x.shape[-1]
    norm = obj.get("normalize")
    if norm == "constant_norm_rescale":
        x = x * (math.sqrt(d) / x.norm(dim=-1, keepdim=True))  # SAELens: x * sqrt(d_in) / ||x||
    elif norm == "layer_norm":
        centred = x - x.mean(-1, keepdim=True)  # SAELens: (x - mean) / (std + 1e-5), std unbiased
        x = centred / (centred.square().sum(-1, keepdim=True).div(d - 1).sqrt() + 1e-5)
    if obj["_bDec"] is not None:
        x = x - obj["_bDec"]
    act = obj["activation"]
    if act["kind"] == "topk":
        w_all, b_all = obj["_all"]
        pre_all = x @ w_all + b_all  # [B, d_sae]; the latent's pre is a column of it, so it compares with itself exactly
        pre = pre_all[:, int(act["latent"])]
        above = (pre_all > pre[:, None]).sum(-1)  # selected: fewer than k latents strictly above (ties keep it in)
        return torch.relu(pre) * (above < int(act["k"])).float()
    pre = x @ obj["_wEnc"] + float(obj["bEnc"])
    if act["kind"] == "relu":
        return torch.relu(pre)
    if act["kind"] == "jumprelu":
        return torch.relu(pre) * (pre > float(act["threshold"])).float()
    raise EngineUserError("E_OBJECTIVE", f"objective sae: unknown activation {act['kind']!r}")


def is_oom(e):
    return isinstance(e, getattr(torch, "OutOfMemoryError", ())) or "out of memory" in str(e)


def embed_grad_product(ge, W_E, rows=8192):
    """ge [..., d] @ W_E^T -> [..., V] in float32. In bf16/fp16 the product's output is float32 (torch.mm's out_dtype on
    CUDA; else W_E in float32 slabs of `rows` rows), so the one-hot gradient is not rounded to the weights' dtype."""
    if W_E.dtype == torch.float32:
        return ge @ W_E.T
    a = ge.reshape(-1, ge.shape[-1])
    if a.is_cuda:
        try:
            return torch.mm(a, W_E.T, out_dtype=torch.float32).view(*ge.shape[:-1], -1)
        except (TypeError, NotImplementedError):
            pass  # a torch without mm's out_dtype (before 2.8)
    a = a.float()
    out = torch.cat([a @ W_E[i : i + rows].float().T for i in range(0, W_E.shape[0], rows)], -1)
    return out.view(*ge.shape[:-1], -1)


class Engine:
    def __init__(self, model, max_chunk_floats, slab_columns=None):
        self.model = model
        self.log = lambda line: None  # __main__ sets its log
        self.test_oom_above = None  # tests only (DREAMSWEEP_TORCH_TEST_FAULTS oom-above=R): chunks above R rows fail
        self.oom_cap = {}  # op -> floats per chunk that worked after an out-of-memory error
        self.shrunk = None  # rows per chunk that worked in the last call, when an out-of-memory error shrank it
        # Pythia's unembedding plus CE at 1,332 rows (a chunk of whole prompts) on a 2-core CPU: slabs of 1024 rows
        # took 0.80x the time of one product and cross_entropy on one thread, 0.76x on two.
        if slab_columns is None:
            slab_columns = 0 if model.device.type == "cuda" else 1024
        self.unembed = Unembed(model.W_U, slab_columns, model.final_softcap)
        self.max_chunk_floats = max_chunk_floats
        self.V = model.cfg["dVocab"]
        self._members = {}  # tokens -> a row's forward (_keep_members): evaluate's parents

    def run_chunks(self, op, B, n, run):
        """Calls run(rows slice) over B rows in chunks that keep [rows, n, dVocab] under the cap, split evenly (a scan
        batch of 512 rows under a cap of 300 runs as 256 + 256, not 300 + 212). On out of memory the failed chunk's
        tensors are freed first (the exception and its traceback dropped, then the cache emptied), the chunk halved
        and retried, down to one row (whose failure is the caller's); the size that worked is logged, kept in
        self.shrunk for the reply, and caps the op's later calls."""
        size = max(1, min(self.max_chunk_floats, self.oom_cap.get(op, self.max_chunk_floats)) // (n * self.V))
        s = 0
        while s < B:
            pieces = -(-(B - s) // size)
            c = slice(s, s + -(-(B - s) // pieces))
            rows = c.stop - c.start
            try:
                if self.test_oom_above is not None and rows > self.test_oom_above:
                    raise torch.OutOfMemoryError(f"CUDA out of memory (simulated above {self.test_oom_above} rows for tests)")
                run(c)
                s = c.stop
                continue
            except Exception as e:  # noqa: BLE001
                if not is_oom(e) or rows == 1:
                    raise
            # Here, out of the except block, the traceback and the tensors its frames held are gone.
            if self.model.device.type == "cuda":
                torch.cuda.empty_cache()
            size = max(1, rows // 2)
            self.shrunk = size
            self.oom_cap[op] = size * n * self.V
            self.log(f"{op}: out of memory at {rows} rows of {n} positions; retrying in chunks of {size}")
        if self.shrunk is not None:
            self.log(f"{op}: chunks of {self.shrunk} rows worked; later {op} calls start there")

    def _vector(self, obj):
        if "_vec" not in obj:
            obj["_vec"] = torch.tensor(obj["vector"], dtype=torch.float32, device=self.model.device)
        return obj["_vec"]

    def objective_value(self, obj, taps, last_logits):
        """f per prompt, float32 [B]. last_logits: [B, V] (any dtype), read by the logit objective only (None for others)."""
        if obj["kind"] == "resid":
            return standardise(taps[objective_tap(obj)].float()) @ self._vector(obj)
        if obj["kind"] == "neuron":
            return taps[objective_tap(obj)][:, obj["index"]].float()
        if obj["kind"] == "sae":
            return sae_value(obj, taps[objective_tap(obj)])
        last = last_logits.float()
        others = last.clone()
        others[:, obj["token"]] = -torch.inf
        return last[:, obj["token"]] - others.max(-1).values

    @staticmethod
    def position_ce(logp, ids):
        """logp: log_softmax [B, n, V] float32, ids [B, n] -> next-token CE [B, n-1]."""
        return -logp[:, :-1].gather(-1, ids[:, 1:, None])[..., 0]

    # ---- evaluate ----

    def evaluate(self, ids, obj, prefix=None):
        """f, CE [B]. prefix: the hint on the host ({parents [P, n], parentOf [B], from [B]}, CPU tensors, so that
        planning the packed pass needs no device synchronisation)."""
        B, n = ids.shape
        f = torch.empty(B, device=ids.device)
        ce = torch.empty(B, device=ids.device)
        starts = None
        if prefix is not None:
            starts = torch.where(prefix["parentOf"] >= 0, prefix["from"], 0)
            if not bool(starts.any()):
                starts = None  # nothing to reuse: every row in full
        with torch.no_grad():
            if starts is None:

                def run(c):
                    f[c], ce[c] = self._evaluate_full(ids[c], obj)

                self.run_chunks("evaluate", B, n, run)
                return f, ce
            par = self._parents(prefix, ids)
            starts = starts.tolist()
            tokens = B * n - sum(starts)

            def run_packed(c):
                f[c], ce[c] = self._evaluate_packed(ids[c], obj, starts[c], par, prefix["parentOf"][c])

            self.run_chunks("evaluate", B, -(-tokens // B), run_packed)  # chunks of about equal packed tokens
        return f, ce

    def _last_logits(self, obj, h):
        """The last position's logits, for the logit objective only: the others skip that unembedding."""
        return self.unembed.logits(h[:, -1]) if obj["kind"] == "logit" else None

    def _evaluate_full(self, ids, obj):
        m = self.model
        taps, h = m.forward(m.W_E[ids], objective_taps(obj), "hidden")
        fv = self.objective_value(obj, taps, self._last_logits(obj, h))
        n = ids.shape[1]
        if n < 2:
            cv = torch.full((ids.shape[0],), float("nan"), device=ids.device)
        else:
            cv = self.unembed.next_ce(h, ids[:, 1:]).mean(-1)
        return fv, cv

    def _keep_members(self, ids_host, kv, h, lse, pce):
        """Keeps each row's forward (keys/values per layer [n, Hkv, dh], hidden states, per-position log-sum-exp
        and CE at 0..n-2) under its tokens, for evaluate's prefix reuse: the gradient request's forward of new
        members is the parents' forward of the next evaluate."""
        for b, key in enumerate(map(tuple, ids_host.tolist())):
            self._members[key] = {
                "kv": [(k[b].transpose(0, 1).detach(), v[b].transpose(0, 1).detach()) for k, v in kv],
                "h": None if h is None else h[b].detach(),
                "lse": None if lse is None else lse[b].detach(),
                "ce": None if pce is None else pce[b].detach(),
            }

    def _parents(self, prefix, ids):
        """The parents' keys/values per layer [P, n, Hkv, dh], hidden states [P, n-1, d], per-position log-sum-exp
        and CE [P, n-1], stacked from the members kept (by gradients or an earlier evaluate); the others run one
        forward. Checks on the host that each child equals its parent before its start."""
        parents, parent_of, frm = prefix["parents"], prefix["parentOf"], prefix["from"]
        n = parents.shape[1]
        has = parent_of >= 0
        ids_host = prefix.get("ids", ids)
        pi = parent_of.clamp(min=0)
        pos = torch.arange(n)[None, :]
        differs = (ids_host.cpu() != parents[pi]) & (pos < frm[:, None]) & has[:, None]
        if bool(differs.any()):
            b = int(differs.any(-1).nonzero()[0, 0])
            raise EngineUserError(
                "E_ENGINE_INPUT",
                f"evaluate: prefix hint: prompt {b} differs from parent {int(parent_of[b])} before position {int(frm[b])}",
            )
        keys = list(map(tuple, parents.tolist()))
        missing = [i for i, key in enumerate(keys) if key not in self._members]
        if missing:
            m = self.model
            kv = []
            rows = parents[missing].to(ids.device)
            _, h = m.forward(m.W_E[rows], (), "hidden", keep=kv)
            P, _, d = h.shape
            pred = h[:, :-1]  # [P, n-1, d]: position i predicts token i+1
            lse = pce = None
            if n >= 2:
                flat = pred.reshape(-1, d)
                lse = self.unembed.lse(flat).view(P, n - 1)
                pce = lse - self.unembed.at(flat, rows[:, 1:].reshape(-1)).view(P, n - 1)
            self._keep_members(parents[missing], kv, pred, lse, pce)
        # Only this call's parents stay: the next call's are among them or come from gradients in between.
        self._members = {key: self._members[key] for key in keys}
        got = [self._members[key] for key in keys]
        layers = len(got[0]["kv"])
        stack = lambda name: torch.stack([g[name] for g in got]) if n >= 2 else None  # noqa: E731
        return {
            "kv": [tuple(torch.stack([g["kv"][l][i] for g in got]) for i in (0, 1)) for l in range(layers)],
            "h": stack("h"),
            "lse": stack("lse"),
            "ce": stack("ce"),
        }

    def _evaluate_packed(self, ids, obj, starts, par, parent_of):
        """Rows that equal their parent before their start (0: no parent, in full): every row's tokens from its
        start on in one packed pass (blocks.Packed), attention over the parent's keys/values before it. CE per
        position: the parent's before start - 1, at start - 1 the parent's prediction of the row's token, after
        it the row's own."""
        m = self.model
        B, n = ids.shape
        pk = Packed(starts, n, ids.device)
        pj = parent_of.clamp(min=0).to(ids.device)
        past = [(k[pj], v[pj]) for k, v in par["kv"]]
        taps, h = m.forward(m.W_E[ids.reshape(-1)[pk.flat]], objective_taps(obj), "hidden", past=past, packed=pk)
        fv = self.objective_value(obj, taps, self.unembed.logits(h[pk.last]) if obj["kind"] == "logit" else None)
        if n < 2:
            return fv, torch.full((B,), float("nan"), device=ids.device)
        # Host lists: the packed tokens that predict a next token (all but each row's last), rows with a parent.
        pred = (pk.pos_host < n - 1).nonzero()[:, 0]
        at = [b for b, s in enumerate(starts) if s > 0]
        rows, pos = pk.row_host[pred], pk.pos_host[pred]
        ce = par["ce"][pj].clone() if par["ce"] is not None else torch.empty(B, n - 1, device=ids.device)
        ce = ce.view(-1)
        dev = lambda t: t.to(ids.device)  # noqa: E731
        targets = ids.reshape(-1)[dev(rows * n + pos + 1)]
        ce.index_copy_(0, dev(rows * (n - 1) + pos), self.unembed.nll(h[dev(pred)], targets))
        if at:
            a = torch.tensor(at)
            s = torch.tensor(starts)[a]
            pa, sa = pj[dev(a)], dev(s)
            at_p = par["lse"][pa, sa - 1] - self.unembed.at(par["h"][pa, sa - 1], ids[dev(a), sa])
            ce.index_copy_(0, dev(a * (n - 1) + s - 1), at_p)
        return fv, ce.view(B, n - 1).mean(-1)

    # ---- gradients ----

    def gradients(self, ids, lambdas, obj, k, allowed, full):
        """The gradient of sum_b (f_b - lambda_b CE_b) in the one-hot x[b, i, v], which enters through the
        embeddings (x @ W_E) and as CE's targets: (dL/d emb) @ W_E^T, plus lambda_b/(n-1) * log_softmax(logits
        [b, i-1]) at positions i >= 1. Top-k over allowed tokens, descending."""
        m = self.model
        B, n = ids.shape
        bias = torch.zeros(self.V, device=ids.device).masked_fill_(~allowed, -torch.inf)
        f = torch.empty(B, device=ids.device)
        ce = torch.empty(B, device=ids.device)
        top = torch.empty(B, n, k, dtype=torch.int32, device=ids.device)
        grads = torch.empty(B, n, self.V, device=ids.device) if full else None

        def run(c):
            e = m.W_E[ids[c]].detach().requires_grad_(True)
            kv = []
            with torch.enable_grad():
                taps, h = m.forward(e, objective_taps(obj), "hidden", keep=None if full else kv)
                logits = self.unembed.logits(h)
                last = logits[:, -1]
                fv = self.objective_value(obj, taps, last)
                logp = torch.log_softmax(logits.float(), -1)  # [b, n, V]
                cv_positions = None
                if n < 2:
                    cv = torch.full_like(fv, float("nan"))
                elif m.dtype == torch.float32:
                    cv_positions = self.position_ce(logp, ids[c])
                    cv = cv_positions.mean(-1)
                else:
                    # The target's logit as a float32 dot product, not read off the bf16/fp16 logits.
                    b, _, d = h.shape
                    target = self.unembed.at(h[:, :-1].reshape(-1, d), ids[c][:, 1:].reshape(-1)).view(b, n - 1)
                    cv_positions = torch.logsumexp(logits[:, :-1].float(), -1) - target
                    cv = cv_positions.mean(-1)
                lam = lambdas[c]
                loss = (fv - lam * cv).sum() if n >= 2 else fv.sum()
                (ge,) = torch.autograd.grad(loss, e)
            with torch.no_grad():
                g = embed_grad_product(ge, m.W_E)  # [b, n, V] float32
                if n >= 2:
                    g[:, 1:] += (lam / (n - 1))[:, None, None] * logp[:, :-1].detach()
                top[c] = torch.topk(g + bias, k, dim=-1).indices.to(torch.int32)
                if full:
                    grads[c] = g
                f[c], ce[c] = fv.detach(), cv.detach()
                if not full:
                    # EPO's members: their forward is the parents' forward of the next evaluate (neighbour-averaged
                    # gradients, `full`, run on perturbed rows that are never parents).
                    lse = pce = None
                    if n >= 2:
                        lse = logits[:, :-1, 0].float() - logp[:, :-1, 0]  # log_softmax = logits - lse
                        pce = cv_positions
                    self._keep_members(ids[c].cpu(), kv, h[:, :-1], lse, pce)

        self.run_chunks("gradients", B, n, run)
        return f, ce, top, grads

    # ---- taps ----

    def taps(self, ids, taps, want_ce, want_positions, align=None):
        """taps: Taps to return as values; align: {Tap: vectors [J, d] float64}, those taps come back as alignments
        [B, J] (float64: the product is tiny next to the forward, and the values then match the TypeScript rule to
        rounding), not as values. -> ({Tap: [B, dim]}, {Tap: [B, J]}, ce [B] (empty without), positions or None)."""
        m = self.model
        B, n = ids.shape
        align = align or {}
        want_positions = want_ce and want_positions and n >= 2
        want_logits = LOGITS in taps
        raw = list(dict.fromkeys(t for t in taps if t not in align))
        inner = list(dict.fromkeys([t for t in taps if t != LOGITS] + list(align)))
        mode = "hidden" if want_ce else "last" if want_logits else "none"
        out = {tap: [] for tap in raw}
        aligned = {tap: [] for tap in align}
        ces, pos = [], []

        def run(c):
            # A chunk's results are kept only once all of it is computed (an out-of-memory error retries it whole).
            got, res = m.forward(m.W_E[ids[c]], inner, mode)
            o = {tap: got[tap].float() for tap in raw if tap != LOGITS}
            a = {tap: standardise(got[tap].double()) @ vectors.T for tap, vectors in align.items()}
            if want_logits:
                o[LOGITS] = (self.unembed.logits(res[:, -1]) if want_ce else res).float()
            cv = pce = None
            if want_ce:
                if n < 2:
                    cv = torch.full((ids[c].shape[0],), float("nan"), device=ids.device)
                else:
                    pce = self.unembed.next_ce(res, ids[c][:, 1:])
                    cv = pce.mean(-1)
            for tap, v in o.items():
                out[tap].append(v)
            for tap, v in a.items():
                aligned[tap].append(v)
            if cv is not None:
                ces.append(cv)
            if want_positions and pce is not None:
                pos.append(pce)

        with torch.no_grad():
            self.run_chunks("taps", B, n, run)
        values = {tap: torch.cat(v) for tap, v in out.items()}
        alignments = {tap: torch.cat(v) for tap, v in aligned.items()}
        ce = torch.cat(ces) if want_ce else torch.empty(0, device=ids.device)
        positions = torch.cat(pos) if want_positions else None
        return values, alignments, ce, positions
