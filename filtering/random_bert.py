"""Randomly initialised BERT models with a WordPiece vocabulary of given words, saved like a real model folder:
for benchmarks on machines without a packaged encoder and for tests (no model hub is reachable). Plain Python and
transformers, imported lazily; no Django. ``minilm`` has all-MiniLM-L6's shape (6 layers, hidden 384), so its
speed is MiniLM's; ``tiny`` (2 layers, hidden 32) is for tests and smoke runs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SHAPES = {"minilm": (384, 6, 12, 1536), "tiny": (32, 2, 2, 64)}  # hidden, layers, heads, intermediate
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARACTERS = [chr(code) for code in range(ord("a"), ord("z") + 1)] + list("0123456789.-|':")


def random_bert(
    folder: Path, *, words: Iterable[str], shape: str = "tiny", scorer: bool = False, seed: int | None = None
) -> Path:
    """Save a random BERT and its tokenizer in ``folder``. The vocabulary is the special tokens, the given
    words, and every character alone and as a ``##`` continuation, so any text tokenizes without [UNK] floods.
    ``scorer``: a sequence classifier with one output (a cross-encoder), else a bare encoder."""
    # BertTokenizerFast: a lazily defined alias of BertTokenizer in transformers 5, invisible to mypy.
    import torch
    from transformers import (  # type: ignore[attr-defined, unused-ignore]
        BertConfig,
        BertForSequenceClassification,
        BertModel,
        BertTokenizerFast,
    )

    vocab = list(dict.fromkeys([*SPECIAL, *sorted(set(words)), *CHARACTERS, *(f"##{c}" for c in CHARACTERS)]))
    folder.mkdir(parents=True, exist_ok=True)
    # from a mapping: transformers 5 reads a vocab_file passed to the fast tokenizer into a vocabulary of [UNK]s
    BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}).save_pretrained(str(folder))
    hidden, layers, heads, intermediate = SHAPES[shape]
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=512,
    )
    if seed is not None:
        torch.manual_seed(seed)
    if scorer:
        config.num_labels = 1
        BertForSequenceClassification(config).save_pretrained(str(folder))
    else:
        BertModel(config).save_pretrained(str(folder))
    return folder
