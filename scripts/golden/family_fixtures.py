"""Tiny checkpoints of the newer model families, written by Hugging Face transformers itself (issues #28, #32).

For each entry of FIXTURES this writes test/fixtures/models/<name>/: the model's config.json, generation_config.json
and safetensors (model.save_pretrained, in the entry's dtype, sharded where the entry says so), plus a tokenizer of the
family's kind trained with the `tokenizers` library on TRAINING_TEXT (tokenizer.json, tokenizer_config.json).
Weights are random from a fixed seed and scaled up so outputs are far from uniform: embeddings
with std 1, linear weights with std 1/sqrt(fan_in) (q/k 2/sqrt(fan_in) for sharper attention, an untied unembedding
2/sqrt(d)), norm weights 1 + 0.1 N(0, 1) (the final norm's times 0.3 where the unembedding is the std-1 embedding),
biases 0.1 N(0, 1). Everything is deterministic: a rerun writes the same bytes.

After writing, every fixture is loaded back (AutoConfig, AutoModelForCausalLM, AutoTokenizer) and checked: the
architecture and dtype, the tied unembedding absent from the file, the shard count, the padded vocabulary, the
transformers 4 config dialect read back to the same rotary settings and the same logits, and BOS added by both
`tokenizers` and transformers' tokenizer exactly when the fixture says so.

The golden numbers for these fixtures come from family_golden.py (run it after this).

Usage: python scripts/golden/family_fixtures.py [repo_root]
  (in a venv with requirements.txt installed: python3 -m venv VENV && VENV/bin/pip install -r requirements.txt)
"""

import io
import json
import math
import zipfile
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers.utils import logging as hf_logging
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    Gemma2Config,
    Gemma2ForCausalLM,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

hf_logging.disable_progress_bar()
ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
MODELS = ROOT / "test" / "fixtures" / "models"

TRAINING_TEXT = """The quick brown fox jumps over the lazy dog. A language model reads the text and predicts the next
token. Interpretability researchers want to know what the residual stream of the model represents, and which
inputs make a neuron fire. Fluent dreaming finds prompts that are both effective and readable: the prompt has
low cross-entropy under the model itself. There are many things that they would like to see, and then they
will write them down in the report with the numbers and the figures. It is 2024; the model has 12 layers.
"Hello, world!" said the program. Don't stop; we'll see what's next, isn't it? I'm here and you're there.
Llama, Qwen, Mistral and GPT-2 read the same words: 3.14159 and 1234567 are numbers, café and naïve are words.
""".splitlines()

# Pre-tokenizer patterns as the real tokenizer.json files of these families have them.
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# The tokenizer kinds. specials: added special tokens, ids 0.. in this order; bos: the one a TemplateProcessing
# post-processor puts first (None: no BOS); config: tokenizer_config.json as the family's real checkpoints write it.
TOKENIZERS = {
    "gpt2": {
        "specials": ["<|endoftext|>"], "bos": None, "split": None,
        # GPT-2 names a bos_token, but its tokenizer adds none: `bos` must come from the post-processor.
        "config": {"tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                   "unk_token": "<|endoftext|>", "add_bos_token": False, "add_prefix_space": False},
    },
    "llama3": {
        "specials": ["<|begin_of_text|>", "<|end_of_text|>"], "bos": "<|begin_of_text|>", "split": LLAMA3_PATTERN,
        "ignore_merges": True,
        "config": {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>",
                   "eos_token": "<|end_of_text|>", "add_bos_token": True, "add_eos_token": False,
                   "clean_up_tokenization_spaces": True},
    },
    "qwen2": {
        "specials": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], "bos": None, "split": QWEN2_PATTERN,
        "normalizer": "NFC",
        "config": {"tokenizer_class": "Qwen2Tokenizer", "bos_token": None, "eos_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>", "add_bos_token": False, "clean_up_tokenization_spaces": False},
    },
    "mistral": {
        "specials": ["<unk>", "<s>", "</s>"], "bos": "<s>", "split": None,
        "config": {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
                   "unk_token": "<unk>", "add_bos_token": True, "add_eos_token": False},
    },
    # Gemma (2 and 3): not byte-level. SentencePiece-style BPE as transformers' GemmaTokenizer builds it: spaces
    # replaced by "▁" (normalizer), BPE with byte fallback to the 256 <0xNN> tokens (ids 5..260 here) and fuse_unk,
    # <bos> put first by the post-processor. See make_gemma_tokenizer.
    "gemma": {
        "specials": ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"], "bos": "<bos>", "split": None,
        "model": "sentencepiece_bpe",
        # Beside engine_golden's texts: specials written as text, runs of spaces, characters only byte fallback covers.
        "extra_texts": ["<bos>Hello <eos> world<pad>  two  spaces\tand\r\n", "emoji 🦊 → ∑ ok"],
        "config": {"tokenizer_class": "GemmaTokenizer", "bos_token": "<bos>", "eos_token": "<eos>",
                   "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>", "add_bos_token": True,
                   "add_eos_token": False, "clean_up_tokenization_spaces": False, "padding_side": "left"},
    },
}

COMMON = dict(hidden_size=64, max_position_embeddings=64)

# name -> how to build it. vocab: the tokenizer's size; pad_vocab: config.vocab_size beyond it; shards: file count.
FIXTURES = {
    "tiny-gpt2": dict(
        family="gpt2", cls=GPT2LMHeadModel, dtype=torch.float32, tokenizer="gpt2", vocab=300, seed=11,
        config=lambda V: GPT2Config(vocab_size=V, n_positions=32, n_embd=64, n_layer=2, n_head=4, n_inner=128,
                                    activation_function="gelu_new", layer_norm_epsilon=1e-5, bos_token_id=0,
                                    eos_token_id=0, tie_word_embeddings=True, resid_pdrop=0.0, embd_pdrop=0.0,
                                    attn_pdrop=0.0)),
    "tiny-llama3": dict(
        family="llama", cls=LlamaForCausalLM, dtype=torch.float32, tokenizer="llama3", vocab=320, seed=12,
        drop_head_dim=True,  # config.json without head_dim, as Llama 3 / 3.1 have it (transformers 5 writes it)
        # llama3 scaling with a small original context so that all three frequency bands occur in 16 dims:
        # wavelengths 6.3 (kept), 32 (smoothed, between 64/4 and 64/1) and >= 167 (divided by the factor).
        config=lambda V: LlamaConfig(vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                                     rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=0, eos_token_id=1,
                                     rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                                      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                      "original_max_position_embeddings": 64})),
    "tiny-llama3-tied-bf16": dict(
        family="llama", cls=LlamaForCausalLM, dtype=torch.bfloat16, tokenizer="llama3", vocab=320, seed=13, shards=2,
        # Llama 3.2's own rotary settings; head_dim written explicitly as Llama 3.2's config.json does.
        config=lambda V: LlamaConfig(vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
                                     num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                                     max_position_embeddings=131072, rms_norm_eps=1e-5, tie_word_embeddings=True,
                                     bos_token_id=0, eos_token_id=1,
                                     rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                                                      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                      "original_max_position_embeddings": 8192})),
    "tiny-qwen2-bf16": dict(
        family="qwen2", cls=Qwen2ForCausalLM, dtype=torch.bfloat16, tokenizer="qwen2", vocab=300, pad_vocab=40,
        seed=14,
        config=lambda V: Qwen2Config(vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                     rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False,
                                     bos_token_id=None, eos_token_id=0,
                                     rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    "tiny-qwen3": dict(
        family="qwen3", cls=Qwen3ForCausalLM, dtype=torch.float32, tokenizer="qwen2", vocab=300, seed=15,
        config=lambda V: Qwen3Config(vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                                     max_position_embeddings=64, rms_norm_eps=1e-6, tie_word_embeddings=False,
                                     use_sliding_window=False, bos_token_id=None, eos_token_id=0,
                                     rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    "tiny-mistral-f16": dict(
        family="mistral", cls=MistralForCausalLM, dtype=torch.float16, tokenizer="mistral", vocab=330, seed=16,
        dialect4=True,
        config=lambda V: MistralConfig(vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                       rms_norm_eps=1e-5, tie_word_embeddings=False, sliding_window=None,
                                       bos_token_id=1, eos_token_id=2,
                                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    # Gemma 2 (issue #32): soft-capping values small enough to bite on these weights (golden_checks measures it),
    # query_pre_attn_scalar (40) neither head_dim (24) nor hidden / heads (16), GQA, a 4-token window on layers 0
    # and 2 (layer_types as transformers derives them: sliding, full, ...) and 10-token prompts.
    "tiny-gemma2": dict(
        family="gemma2", cls=Gemma2ForCausalLM, dtype=torch.float32, tokenizer="gemma", vocab=400, seed=17,
        tokens=10, gemma=True,
        config=lambda V: Gemma2Config(vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                                      num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                                      query_pre_attn_scalar=40, max_position_embeddings=64, rms_norm_eps=1e-6,
                                      attn_logit_softcapping=4.0, final_logit_softcapping=5.0, sliding_window=4,
                                      hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
                                      pad_token_id=0, bos_token_id=2, eos_token_id=1,
                                      rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
    # The same kind in BF16, with hidden 48 (sqrt 6.93, not a power of two) and the config.json of the Gemma 2
    # checkpoints on the Hub (transformers 4: rope_theta at the top level, no layer_types, torch_dtype).
    "tiny-gemma2-bf16": dict(
        family="gemma2", cls=Gemma2ForCausalLM, dtype=torch.bfloat16, tokenizer="gemma", vocab=400, seed=18,
        tokens=10, gemma=True, dialect4="gemma2",
        config=lambda V: Gemma2Config(vocab_size=V, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                                      query_pre_attn_scalar=12, max_position_embeddings=64, rms_norm_eps=1e-6,
                                      attn_logit_softcapping=3.0, final_logit_softcapping=4.0, sliding_window=3,
                                      hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
                                      pad_token_id=0, bos_token_id=2, eos_token_id=1,
                                      rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
    # Gemma 3 text: q/k norms, no soft-capping (transformers' defaults, as the Gemma 3 checkpoints have them),
    # the local layers' rotary base 10000 and the global layer's 1e6 with linear scaling (factor 8, as Gemma 3
    # 4B-27B), layers local, local, global, local (the 5 : 1 pattern shortened to 2 : 1 for four layers).
    "tiny-gemma3": dict(
        family="gemma3", cls=Gemma3ForCausalLM, dtype=torch.float32, tokenizer="gemma", vocab=400, seed=19,
        tokens=10, gemma=True,
        config=lambda V: Gemma3TextConfig(
            vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, head_dim=32, query_pre_attn_scalar=20, max_position_embeddings=64,
            rms_norm_eps=1e-6, sliding_window=4, hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
            pad_token_id=0, bos_token_id=2, eos_token_id=1, final_logit_softcapping=None,
            attn_logit_softcapping=None,
            layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"],
            rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                             "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}})),
    # Gemma 3 in BF16 with the config.json of the Gemma 3 checkpoints on the Hub (transformers 4.50: rope_theta,
    # rope_local_base_freq, rope_scaling, sliding_window_pattern, no layer_types): pattern 2 on 2 layers gives
    # local, global; rope_scaling null as Gemma 3 1B has it.
    "tiny-gemma3-bf16": dict(
        family="gemma3", cls=Gemma3ForCausalLM, dtype=torch.bfloat16, tokenizer="gemma", vocab=400, seed=20,
        tokens=10, gemma=True, dialect4="gemma3",
        config=lambda V: Gemma3TextConfig(
            vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=16, max_position_embeddings=64,
            rms_norm_eps=1e-6, sliding_window=3, hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
            pad_token_id=0, bos_token_id=2, eos_token_id=1, final_logit_softcapping=None,
            attn_logit_softcapping=None, layer_types=["sliding_attention", "full_attention"],
            rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                             "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}})),
}


# ---- tokenizers ---------------------------------------------------------------------------------------------------

def make_tokenizer(kind, vocab_size):
    spec = TOKENIZERS[kind]
    if spec.get("model") == "sentencepiece_bpe":
        return make_gemma_tokenizer(spec, vocab_size)
    tok = Tokenizer(models.BPE(ignore_merges=spec.get("ignore_merges", False)))
    if spec.get("normalizer") == "NFC":
        tok.normalizer = normalizers.NFC()
    if spec["split"]:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(spec["split"]), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ])
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=spec["specials"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(TRAINING_TEXT, trainer=trainer)
    assert tok.get_vocab_size() == vocab_size, (kind, tok.get_vocab_size())
    byte_level = processors.ByteLevel(trim_offsets=False)
    if spec["bos"]:
        bos = spec["bos"]
        template = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B:1",
                                                 special_tokens=[(bos, tok.token_to_id(bos))])
        tok.post_processor = processors.Sequence([byte_level, template])  # as Llama 3's tokenizer.json
    else:
        tok.post_processor = byte_level
    return tok


def make_gemma_tokenizer(spec, vocab_size):
    """Gemma's tokenizer.json structure (transformers' GemmaTokenizer): normalizer Replace(" ", "▁"), pre-tokenizer
    Split(" ", merged_with_previous) (a no-op after the normalizer, as in Gemma's own file), BPE with byte_fallback and
    fuse_unk, decoder Replace("▁", " ") + ByteFallback + Fuse, post-processor "<bos> $A". Ids: the specials 0..4, the
    byte tokens <0x00>..<0xFF> 5..260 (in the model's vocabulary, not added tokens), then the trained pieces."""
    specials = spec["specials"]
    n_bytes = 256

    def base():
        tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
        tok.normalizer = normalizers.Replace(" ", "▁")
        tok.pre_tokenizer = pre_tokenizers.Split(" ", behavior="merged_with_previous", invert=False)
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
        return tok

    tok = base()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - n_bytes, min_frequency=2, special_tokens=specials,
                                  show_progress=False)
    tok.train_from_iterator(TRAINING_TEXT, trainer=trainer)
    trained = json.loads(tok.to_str())["model"]
    vocab = {t: i for i, t in enumerate(specials)}
    for b in range(n_bytes):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for t, i in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if t not in vocab:
            vocab[t] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    tok = base()
    tok.model = models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True)
    tok.add_special_tokens(specials)
    bos = spec["bos"]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
                                                       special_tokens=[(bos, vocab[bos])])
    assert tok.get_vocab_size() == vocab_size, (tok.get_vocab_size(), vocab_size)
    assert [tok.token_to_id(t) for t in specials] == list(range(len(specials)))
    return tok


def write_tokenizer(path, kind, vocab_size, max_positions):
    spec = TOKENIZERS[kind]
    tok = make_tokenizer(kind, vocab_size)
    tok.save(str(path / "tokenizer.json"))
    config = {**spec["config"], "model_max_length": max_positions}
    (path / "tokenizer_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return tok


# ---- weights --------------------------------------------------------------------------------------------------------

# Gemma: embeddings of std 1/4, so that the residual stream (times sqrt(d) = 8 at d 64) has rms ~2 beside the
# post-normed block outputs' ~1, and the tied unembedding gives logits of std ~2.
GEMMA_EMBED_STD = 0.25


@torch.no_grad()
def randomize_gemma(model, seed):
    """As randomize, for Gemma's (1 + w) RMSNorms: norm weights w = 0.1 N(0, 1) (a scale ~1), except q_norm / k_norm
    (Gemma 3) w = 1 + 0.1 N(0, 1) (a scale ~2: sharper attention); embeddings std GEMMA_EMBED_STD."""
    g = torch.Generator().manual_seed(seed)
    assert model.config.tie_word_embeddings
    for name, p in model.named_parameters():
        n = torch.randn(p.shape, generator=g, dtype=torch.float32)
        if p.ndim == 1:
            assert "norm" in name and name.endswith("weight"), name
            value = 1 + 0.1 * n if name.endswith(("q_norm.weight", "k_norm.weight")) else 0.1 * n
        elif "embed_tokens" in name:
            value = n * GEMMA_EMBED_STD
        else:
            sharp = any(k in name for k in ("q_proj", "k_proj"))
            value = n * ((2 if sharp else 1) / math.sqrt(p.shape[1]))
        p.copy_(value)


@torch.no_grad()
def randomize(model, seed, conv1d):
    """Scaled-up random weights, drawn in named_parameters order from one seeded generator (float32)."""
    g = torch.Generator().manual_seed(seed)
    tied = model.config.tie_word_embeddings
    for name, p in model.named_parameters():
        n = torch.randn(p.shape, generator=g, dtype=torch.float32)
        if p.ndim == 1:
            is_norm = "norm" in name or ".ln_" in name or name.startswith("ln_")
            value = 1 + 0.1 * n if is_norm and name.endswith("weight") else 0.1 * n
            if tied and name in ("model.norm.weight", "transformer.ln_f.weight"):
                value = 0.3 * value  # the tied unembedding has std 1: logits of std ~2.5, as the untied ones
        elif "embed_tokens" in name or name.endswith("wte.weight") or name.endswith("wpe.weight"):
            value = n  # std 1: residuals of order 1 (and peaked logits where the unembedding is tied)
        elif name == "lm_head.weight":
            assert not tied
            value = n * (2 / math.sqrt(p.shape[1]))
        else:
            fan_in = p.shape[0] if conv1d else p.shape[1]  # GPT-2's Conv1D stores [in, out]
            sharp = any(k in name for k in ("q_proj", "k_proj", "c_attn"))
            value = n * ((2 if sharp else 1) / math.sqrt(fan_in))
        p.copy_(value)


def write_model(name, spec):
    path = MODELS / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    tok_vocab = spec["vocab"]
    V = tok_vocab + spec.get("pad_vocab", 0)
    config = spec["config"](V)
    torch.manual_seed(0)  # the constructor's own init, overwritten below
    model = spec["cls"](config).eval()
    if spec.get("gemma"):
        randomize_gemma(model, spec["seed"])
    else:
        randomize(model, spec["seed"], conv1d=spec["family"] == "gpt2")
    model = model.to(spec["dtype"])
    max_shard = None
    if spec.get("shards"):
        total = sum(p.numel() * p.element_size() for n, p in model.state_dict().items()
                    if not (config.tie_word_embeddings and n == "lm_head.weight"))
        max_shard = total // spec["shards"] + 4096
        model.save_pretrained(path, max_shard_size=max_shard)
    else:
        model.save_pretrained(path)
    if spec.get("dialect4") in ("gemma2", "gemma3"):
        rewrite_gemma_dialect4(path, spec["dialect4"])
    elif spec.get("dialect4"):
        rewrite_dialect4(path)
    if spec.get("drop_head_dim"):
        cfg = json.loads((path / "config.json").read_text())
        assert cfg.pop("head_dim") == cfg["hidden_size"] // cfg["num_attention_heads"]
        (path / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    write_tokenizer(path, spec["tokenizer"], tok_vocab, getattr(config, "max_position_embeddings", 64))
    return path


def rewrite_dialect4(path):
    """config.json as transformers 4 wrote it: rope_theta (and rope_scaling, null) at the top level, torch_dtype."""
    cfg = json.loads((path / "config.json").read_text())
    rope = cfg.pop("rope_parameters")
    assert rope["rope_type"] == "default" and set(rope) == {"rope_type", "rope_theta"}, rope
    keep = ["architectures", "attention_dropout", "bos_token_id", "eos_token_id", "hidden_act", "hidden_size",
            "initializer_range", "intermediate_size", "max_position_embeddings", "model_type", "num_attention_heads",
            "num_hidden_layers", "num_key_value_heads", "rms_norm_eps", "sliding_window", "tie_word_embeddings",
            "use_cache", "vocab_size"]
    out = {k: cfg[k] for k in keep}
    out["rope_theta"] = rope["rope_theta"]
    out["torch_dtype"] = cfg["dtype"]
    out["transformers_version"] = "4.42.0"
    (path / "config.json").write_text(json.dumps(dict(sorted(out.items())), indent=2) + "\n")


def rewrite_gemma_dialect4(path, kind):
    """config.json as the Gemma checkpoints on the Hub have it (transformers 4.42 for Gemma 2, 4.50 for Gemma 3):
    rope_theta (Gemma 3: and rope_local_base_freq, rope_scaling, sliding_window_pattern) at the top level, no
    layer_types (derived on load), torch_dtype, cache_implementation "hybrid"; Gemma 2 also has hidden_act."""
    cfg = json.loads((path / "config.json").read_text())
    rope = cfg.pop("rope_parameters")
    layer_types = cfg.pop("layer_types")
    n = cfg["num_hidden_layers"]
    drop = ("dtype", "transformers_version", "use_bidirectional_attention", "_sliding_window_pattern")
    out = {k: v for k, v in cfg.items() if k not in drop}
    if kind == "gemma2":
        assert rope == {"rope_type": "default", "rope_theta": rope["rope_theta"]}, rope
        assert layer_types == ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(n)]
        out["rope_theta"] = rope["rope_theta"]
        out["hidden_act"] = cfg["hidden_activation"]
        version = "4.42.4"
    else:
        pattern = layer_types.index("full_attention") + 1
        assert layer_types == ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]
        local, full = rope["sliding_attention"], rope["full_attention"]
        assert local == {"rope_type": "default", "rope_theta": local["rope_theta"]}, local
        out["rope_theta"] = full["rope_theta"]
        out["rope_local_base_freq"] = local["rope_theta"]
        scaling = {k: v for k, v in full.items() if k != "rope_theta"}
        out["rope_scaling"] = None if scaling == {"rope_type": "default"} else scaling
        out["sliding_window_pattern"] = pattern
        version = "4.50.0"
    out["cache_implementation"] = "hybrid"
    out["torch_dtype"] = cfg["dtype"]
    out["transformers_version"] = version
    (path / "config.json").write_text(json.dumps(dict(sorted(out.items())), indent=2) + "\n")


# ---- checks ---------------------------------------------------------------------------------------------------------

def check(name, spec):
    path = MODELS / name
    files = sorted(p.name for p in path.iterdir())
    weights = [f for f in files if f.endswith(".safetensors")]
    want_shards = spec.get("shards", 1)
    assert len(weights) == want_shards, (name, weights)
    assert ("model.safetensors.index.json" in files) == (want_shards > 1), files
    from safetensors import safe_open
    names, dtypes = [], set()
    for w in weights:
        with safe_open(path / w, "pt") as f:
            for k in f.keys():
                names.append(k)
                dtypes.add(f.get_slice(k).get_dtype())
    want_dtype = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}[spec["dtype"]]
    assert dtypes == {want_dtype}, (name, dtypes)
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["architectures"] == [spec["cls"].__name__], cfg["architectures"]
    if cfg.get("tie_word_embeddings"):
        assert "lm_head.weight" not in names, (name, "tied unembedding written to the file")
    else:
        assert "lm_head.weight" in names
    if spec.get("dialect4") in ("gemma2", "gemma3"):
        # The transformers 4 config reads back to what transformers 5 would have written.
        assert "rope_parameters" not in cfg and "layer_types" not in cfg and "rope_theta" in cfg, cfg
        loaded, fresh = AutoConfig.from_pretrained(path), spec["config"](cfg["vocab_size"])
        for key in ("layer_types", "rope_parameters", "sliding_window", "query_pre_attn_scalar", "head_dim",
                    "attn_logit_softcapping", "final_logit_softcapping", "hidden_activation"):
            assert getattr(loaded, key) == getattr(fresh, key), (name, key, getattr(loaded, key), getattr(fresh, key))
    elif spec.get("dialect4"):
        assert "rope_parameters" not in cfg and "rope_theta" in cfg, cfg
        loaded = AutoConfig.from_pretrained(path)
        assert loaded.rope_parameters["rope_theta"] == cfg["rope_theta"], loaded.rope_parameters
        assert loaded.rope_parameters["rope_type"] == "default", loaded.rope_parameters
    else:
        assert "rope_theta" not in cfg and "rope_scaling" not in cfg, cfg  # transformers 5 dialect
    if spec.get("drop_head_dim"):
        assert "head_dim" not in cfg and AutoConfig.from_pretrained(path).head_dim == 16

    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    V_tok = tok.get_vocab_size()
    assert V_tok == spec["vocab"] and cfg["vocab_size"] == V_tok + spec.get("pad_vocab", 0)
    bos_token = TOKENIZERS[spec["tokenizer"]]["bos"]
    plain = tok.encode("Hello world", add_special_tokens=False).ids
    special = tok.encode("Hello world", add_special_tokens=True).ids
    if bos_token:
        assert special == [tok.token_to_id(bos_token)] + plain, (special, plain)
    else:
        assert special == plain, (special, plain)
    hf_tok = AutoTokenizer.from_pretrained(path)
    extra = TOKENIZERS[spec["tokenizer"]].get("extra_texts", [])
    for text in TRAINING_TEXT[:3] + ["Don'T STOP 1234567 'LL café"] + extra:
        assert hf_tok(text)["input_ids"] == tok.encode(text).ids, (name, text)
        assert hf_tok(text, add_special_tokens=False)["input_ids"] == tok.encode(text, add_special_tokens=False).ids

    # The checkpoint as saved reloads to the same numbers in its own dtype and in float32 from the same bits.
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    assert type(model) is spec["cls"]
    ids = torch.tensor([[2 + (7 * i) % (V_tok - 2) for i in range(6)]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    assert torch.isfinite(logits).all()
    spread = logits[0, -1].std().item()
    assert spread > 1.0, (name, "logits too close to uniform", spread)
    return files


# ---- a Gemma-Scope-style SAE ----------------------------------------------------------------------------------------

SAES = ROOT / "test" / "fixtures" / "saes"
# name -> (model, tap, d_sae, seed). The golden numbers: family_golden.py (sae_golden).
SAE_FIXTURES = {"gemma-scope-tiny-gemma2-resid_post.1": ("tiny-gemma2", "resid_post.1", 32, 21)}


def write_npz(path, arrays):
    """np.savez's format (one .npy per array in a zip), with fixed timestamps so that a rerun writes the same bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for key, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            z.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue())


def write_sae(name, model_name, tap, d_sae, seed):
    """params.npz as Gemma Scope publishes it: W_enc [d_in, d_sae], W_dec [d_sae, d_in] (unit rows), b_enc [d_sae],
    b_dec [d_in], threshold [d_sae], all float32. Thresholds: the median of each latent's pre-activation over the
    positions after the BOS of 16 random prompts (at least 0.05), so about half the latents fire on a typical token."""
    path = MODELS / model_name
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
    layer = int(tap.split(".")[1])
    assert tap.startswith("resid_post.")
    d_in = model.config.hidden_size
    g = torch.Generator().manual_seed(seed)
    W_dec = torch.randn(d_sae, d_in, generator=g)
    W_dec = W_dec / W_dec.norm(dim=1, keepdim=True)
    W_enc = W_dec.T + 0.3 * torch.randn(d_in, d_sae, generator=g) / math.sqrt(d_in)
    b_enc = 0.1 * torch.randn(d_sae, generator=g)
    b_dec = 0.1 * torch.randn(d_in, generator=g)
    ids = torch.randint(5, model.config.vocab_size, (16, 10), generator=g)
    ids[:, 0] = model.config.bos_token_id
    with torch.no_grad():
        x = model(input_ids=ids, output_hidden_states=True).hidden_states[layer + 1][:, 1:]  # resid_post.L
    pre = (x @ W_enc + b_enc).reshape(-1, d_sae)
    threshold = pre.median(dim=0).values.clamp(min=0.05)
    arrays = {"W_enc": W_enc, "W_dec": W_dec, "b_enc": b_enc, "b_dec": b_dec, "threshold": threshold}
    out = SAES / name
    out.mkdir(parents=True, exist_ok=True)
    write_npz(out / "params.npz", {k: v.numpy().astype(np.float32) for k, v in arrays.items()})
    loaded = np.load(out / "params.npz")
    assert sorted(loaded.files) == sorted(arrays) and all(loaded[k].dtype == np.float32 for k in arrays)
    assert loaded["W_enc"].shape == (d_in, d_sae) and loaded["W_dec"].shape == (d_sae, d_in)
    return out / "params.npz"


def main():
    for name, spec in FIXTURES.items():
        write_model(name, spec)
        files = check(name, spec)
        path = MODELS / name
        size = sum((path / f).stat().st_size for f in files)
        assert size < 1_000_000, (name, size)
        print(f"{name}: {', '.join(files)} ({size} bytes)")
    for name, (model_name, tap, d_sae, seed) in SAE_FIXTURES.items():
        print(f"{name}: {write_sae(name, model_name, tap, d_sae, seed)}")


if __name__ == "__main__":
    main()
