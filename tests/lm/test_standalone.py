"""COSMO-LM without Django: the command line trains on an export-shaped JSONL file and evaluates before and after;
``merge`` writes a plain transformers folder (safetensors) that scores like the base plus adapter; the example
grouping and the split by behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.ml.lm.data import examples_from_records, split_examples, split_tails
from tests.classifiers.lm_tiny import synthetic_records, tiny_lm


def test_generation_records_group_by_behaviour_and_relation_and_the_split_never_cuts_a_behaviour() -> None:
    examples = examples_from_records(synthetic_records(30), max_tails=1)
    generate = [e for e in examples if e.task == "generate"]
    assert len(generate) == 30 * 2 * 2  # one tail per example with max_tails=1, all curated tails on each
    assert all(len(e.tails) == 2 and e.output in e.tails for e in generate)
    split = split_examples(examples, share=0.3, seed=4)
    assert {e.group for e in split.train}.isdisjoint({e.group for e in split.held_out})
    assert split.held_out and split.train
    assert split_tails("keep feet warm | Keep feet warm |  walk on ice.\n") == ["keep feet warm", "walk on ice"]
    with pytest.raises(ValueError, match="yes or no"):
        examples_from_records([{"task": "plausibility", "instruction": "i", "input": "x", "output": "maybe"}])


def test_the_command_line_trains_and_evaluates_from_a_file_and_merge_scores_like_the_adapter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from classifiers.ml.lm.__main__ import main
    from classifiers.ml.lm.data import JUDGEMENT_TASKS
    from classifiers.ml.lm.model import judge_proba, load_artifact

    base = tiny_lm(tmp_path / "base")
    data = tmp_path / "instructions.jsonl"
    records = synthetic_records(40)
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    params = {"epochs": 4, "batch_size": 16, "learning_rate": 3e-3, "lora_r": 16, "lora_alpha": 32, "lora_dropout": 0}
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "v"), "--base", base,
                 "--params", json.dumps({**params, "generation_examples": 4}), "--held-out-share", "0.25",
                 "--device", "cpu"]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    assert printed["tuned"]["roc_auc"] > printed["base"]["roc_auc"]
    assert main(["merge", "--artifact", str(tmp_path / "v"), "--out", str(tmp_path / "merged")]) == 0
    assert (tmp_path / "merged" / "model.safetensors").is_file()
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged", use_safetensors=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "merged")
    judgements = [e for e in examples_from_records(records[:40]) if e.task in JUDGEMENT_TASKS][:8]
    adapter_model, adapter_tokenizer = load_artifact(tmp_path / "v", device="cpu")
    assert judge_proba(merged, tokenizer, judgements) == pytest.approx(
        judge_proba(adapter_model, adapter_tokenizer, judgements), abs=1e-4
    )
