"""The model families, one line each: the ModelConfig's `family` -> the module whose `params(cfg)` lists the
checkpoint's tensors and how they become model.Transformer's parameters (weights.Param). The forward pass is the
shared one (model.py), configured by the ModelConfig; a family that needs a new piece adds it to blocks.py behind
a config field. Adding a family: engines/torch/README.md."""

from ..errors import EngineUserError
from . import gemma, gpt2, llama, neox

FAMILIES = {
    "gpt_neox": neox,
    "gpt2": gpt2,
    "llama": llama,
    "qwen2": llama,
    "qwen3": llama,
    "mistral": llama,
    "gemma2": gemma,
    "gemma3": gemma,
}


def params(cfg):
    """The family's weights.Param list for this config."""
    family = FAMILIES.get(cfg.get("family"))
    if family is None:
        raise EngineUserError(
            "E_MODEL_FAMILY", f"model family {cfg.get('family')!r} is not supported by the torch engine; supported: {', '.join(FAMILIES)}"
        )
    return family.params(cfg)
