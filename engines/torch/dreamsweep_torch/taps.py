"""Taps: what a forward pass reports at the last position. Names (`resid_pre.3`) are parsed once, where a request
arrives (`parse_tap`); past that point a tap is a `Tap(kind, layer)` and nothing splits strings. The meanings are
the same in every family (TransformerLens's):
- resid_pre.L   input of block L, L = 0..nLayers (resid_pre.<nLayers>: the residual before the final norm)
- resid_post.L  output of block L (= resid_pre.L+1)
- mlp_post.L    what enters block L's MLP output projection: act(in(x)), or act(gate(x)) * up(x) when gated
- mlp_out.L     block L's MLP output (after its output projection and bias), before it joins the residual
- logits        the last position's logits"""

from typing import NamedTuple

from .errors import EngineUserError

KINDS = ("resid_pre", "resid_post", "mlp_post", "mlp_out")


class Tap(NamedTuple):
    kind: str  # resid_pre | resid_post | mlp_post | mlp_out | logits
    layer: int  # -1 for logits

    @property
    def name(self):
        return "logits" if self.kind == "logits" else f"{self.kind}.{self.layer}"

    def blocks_needed(self):
        """How many blocks must run before this tap exists (logits: all of them; the caller knows how many)."""
        return self.layer if self.kind == "resid_pre" else self.layer + 1


LOGITS = Tap("logits", -1)


def parse_tap(name, n_layers):
    """'mlp_post.2' -> Tap('mlp_post', 2), checked against the model's depth."""
    if name == "logits":
        return LOGITS
    kind, _, layer = name.partition(".")
    top = n_layers if kind == "resid_pre" else n_layers - 1
    if kind in KINDS and layer.isdigit() and int(layer) <= top:
        return Tap(kind, int(layer))
    raise EngineUserError(
        "E_TAP_UNKNOWN",
        f"tap {name!r}: expected logits, resid_pre.0..{n_layers}, or resid_post, mlp_post, mlp_out .0..{n_layers - 1}",
    )
