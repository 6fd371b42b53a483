"""A tiny random causal LM with a word-level tokenizer built here (no downloads), and a synthetic instruction set
whose judgements carry a clear signal: "yes" tails come from one set of phrases, "no" tails from another, shared
across behaviours, so a model can learn it on some behaviours and be checked on others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from classifiers.ml.lm.data import JUDGEMENT_INSTRUCTIONS, generation_instruction, judgement_input

GOOD = [
    "keep feet warm",
    "stay dry outdoors",
    "walk on ice",
    "hike in snow",
    "protect from rain",
    "support the ankle",
]
BAD = [
    "bake a cake",
    "paint the fence",
    "cook dinner fast",
    "read a novel",
    "tune a guitar",
    "clean the oven",
]
QUERIES = ["winter boots", "snow shoes", "rain boots", "hiking boots", "ice cleats", "trail shoes", "warm socks"]
PRODUCTS = ["ankle boot", "fur boot", "rubber boot", "trail boot", "snow boot", "wool sock"]
RELATIONS = ["used_for_function", "capable_of"]
SPECIALS = ["[PAD]", "[UNK]", "[EOS]"]
LOGIT_SCALE = 20.0


def behaviour(pair: int) -> str:
    return (
        f'A shopper searched for "{QUERIES[pair % len(QUERIES)]} {pair}" and bought "{PRODUCTS[pair % len(PRODUCTS)]}".'
    )


def synthetic_records(pairs: int = 40) -> list[dict[str, Any]]:
    """Instruction records as the export writes them (plus ``head_key``): per behaviour, generation records of
    two good tails and, per judgement task, two yes (good tails) and two no (bad tails)."""
    records: list[dict[str, Any]] = []
    for pair in range(pairs):
        text = behaviour(pair)
        for r, relation in enumerate(RELATIONS):
            for k in range(2):
                records.append(
                    {
                        "task": "generate",
                        "instruction": generation_instruction(relation),
                        "input": text,
                        "output": GOOD[2 * r + k],
                        "candidate": pair * 100 + r * 10 + k,
                        "head_key": f"pair:{pair}",
                        "relation": relation,
                    }
                )
        for task in ("plausibility", "typicality"):
            for k in range(4):
                relation = RELATIONS[k % 2]
                good = k < 2
                tail = (GOOD if good else BAD)[(pair * 2 + k) % 6]
                records.append(
                    {
                        "task": task,
                        "instruction": JUDGEMENT_INSTRUCTIONS[task],
                        "input": judgement_input(text, relation, tail),
                        "output": "yes" if good else "no",
                        "candidate": pair * 100 + 50 + k,
                        "head_key": f"pair:{pair}",
                        "relation": relation,
                    }
                )
    return records


def tiny_tokenizer(words: list[str]) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIALS)}
    for word in words:
        vocab.setdefault(word, len(vocab))
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]")


def vocabulary(texts: list[str]) -> list[str]:
    return sorted({word for text in texts for word in text.split()})


def tiny_lm(folder: Path, *, texts: list[str] | None = None, seed: int = 0) -> str:
    """A random 2-layer Llama (hidden 64) and its tokenizer saved as a transformers folder (safetensors);
    returns the folder. The vocabulary covers the synthetic records and the prompt format."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from classifiers.ml.lm.data import TAIL_SEPARATOR

    if texts is None:
        records = synthetic_records(60)
        texts = [r["instruction"] + " " + r["input"] + " " + r["output"] for r in records]
    texts = [*texts, "### Instruction: ### Input: ### Answer: yes no", TAIL_SEPARATOR, *GOOD, *BAD]
    tokenizer = tiny_tokenizer(vocabulary(texts))
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    folder.mkdir(parents=True, exist_ok=True)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # a random head this small gives near-uniform logits that adapters alone cannot sharpen
        model.lm_head.weight.mul_(LOGIT_SCALE)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return str(folder)
