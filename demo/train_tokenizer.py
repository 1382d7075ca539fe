"""Trains the demo's byte-level BPE tokenizer (GPT-NeoX conventions: ByteLevel pre-tokenizer without a
prefix space, <|endoftext|> = 0 and <|padding|> = 1) on the demo training shards with Hugging Face
`tokenizers`, and writes demo/model/tokenizer.json. Deterministic for a given corpus.

Usage (npm run demo:tokenizer): python demo/train_tokenizer.py [vocab_size]   (needs `pip install tokenizers`
and the zstd CLI; the output is committed, so nothing else needs either)
"""
import glob
import json
import os
import subprocess
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = int(sys.argv[1]) if len(sys.argv) > 1 else 1024


def texts():
    for path in sorted(glob.glob(os.path.join(HERE, "corpus", "train-*.jsonl.zst"))):
        raw = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout.decode("utf-8")
        for line in raw.splitlines():
            if line:
                yield json.loads(line)["text"]


tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
tok.post_processor = processors.ByteLevel(trim_offsets=True)
trainer = trainers.BpeTrainer(
    vocab_size=VOCAB,
    min_frequency=2,
    special_tokens=["<|endoftext|>", "<|padding|>"],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
)
tok.train_from_iterator(texts(), trainer=trainer)
out = os.path.join(HERE, "model", "tokenizer.json")
tok.save(out)
print(f"{out}: {tok.get_vocab_size()} tokens")
