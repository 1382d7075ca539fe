"""dreamsweep's PyTorch engine (see engines/torch/README.md)."""

__version__ = "0.1.0"
# Bumped whenever a message changes shape; the TypeScript client (core/model/torch-process.ts) checks it.
PROTOCOL = 5
