"""``manage.py evaluate_classifier``: external labelled files, the learning curve, and bad files refused."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import CommandError, call_command

from tests.classifiers.helpers import BAD, GOOD, labelled_pool

pytestmark = pytest.mark.django_db


def labelled_file(path: Path, rounds: int) -> Path:
    lines = []
    for round_ in range(rounds):
        for tail in GOOD:
            lines.append(
                {
                    "query": f"winter boots {round_}",
                    "product": {"id": f"B{round_}", "title": "Ankle boot"},
                    "relation": "capable_of",
                    "tail": f"{tail} {round_}",
                    "labels": {"complete": True, "plausible": True, "typical": True},
                }
            )
        for tail in BAD:
            lines.append(
                {
                    "query": f"winter boots {round_}",
                    "product": {"id": f"B{round_}", "title": "Ankle boot"},
                    "relation": "capable_of",
                    "tail": f"{tail} {round_}",
                    "labels": {"informative": False},
                }
            )
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    return path


def test_training_on_the_platform_labels_and_evaluating_on_an_external_file(tmp_path: Path) -> None:
    labelled_pool(repeat=3)
    out = io.StringIO()
    call_command("evaluate_classifier", "--labels", str(labelled_file(tmp_path / "ext.jsonl", 2)), stdout=out)
    text = out.getvalue()
    assert "training on 36 labelled candidates from the platform's labels" in text
    assert "evaluating on 24" in text
    auc = float(text.split("ROC AUC ")[1].split()[0])
    assert auc > 0.8 and "precision" in text


def test_a_learning_curve_compares_uncertainty_and_random_sampling(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "evaluate_classifier",
        "--train",
        str(labelled_file(tmp_path / "train.jsonl", 6)),
        "--labels",
        str(labelled_file(tmp_path / "test.jsonl", 2)),
        "--learning-curve",
        "--start",
        "8",
        "--step",
        "12",
        "--steps",
        "4",
        stdout=out,
    )
    rows = [line.split() for line in out.getvalue().splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0]) for row in rows] == [8, 20, 32, 44]
    assert all(row[1] != "n/a" for row in rows)


def test_a_bad_external_file_is_refused_naming_the_line_and_field(tmp_path: Path, db: Any) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"query": "q", "product": {"id": "p"}, "relation": "capable_of", "tail": "ok", '
        '"labels": {"typical": true}}\n{"relation": "no_such_relation", "tail": "x"}\nnot json\n'
    )
    with pytest.raises(CommandError) as error:
        call_command("evaluate_classifier", "--labels", str(path), "--train", str(path))
    message = str(error.value)
    assert "bad.jsonl:2: relation unknown relation 'no_such_relation'" in message
    assert "bad.jsonl:3: (line) is not valid JSON" in message


def test_a_damaged_gzip_or_an_empty_labelled_file_is_a_clear_error(tmp_path: Path, db: Any) -> None:
    import gzip

    damaged = tmp_path / "labels.jsonl.gz"
    damaged.write_bytes(gzip.compress(b'{"head": "mug", "relation": "capable_of", "tail": "hold tea"}\n' * 50)[:-20])
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n\n")
    for path, expected in ((damaged, "labels.jsonl.gz:"), (empty, "empty.jsonl:1:")):
        with pytest.raises(CommandError) as error:
            call_command("evaluate_classifier", "--labels", str(path))
        assert expected in str(error.value) and "nothing was read" in str(error.value)


def plausible_only_file(path: Path, rounds: int, *, extra: list[bytes] = ()) -> Path:  # type: ignore[assignment]
    """Like ``labelled_file`` but with plausibility labels only (no line says anything about ``typical``)."""
    lines = []
    for round_ in range(rounds):
        for tail in GOOD + BAD:
            lines.append(
                orjson.dumps(
                    {
                        "query": f"winter boots {round_}",
                        "product": {"id": f"B{round_}", "title": "Ankle boot"},
                        "relation": "capable_of",
                        "tail": f"{tail} {round_}",
                        "labels": {"plausible": tail in GOOD},
                    }
                )
            )
    path.write_bytes(b"\n".join([*lines[:2], *extra, *lines[2:]]) + b"\n")
    return path


def test_without_target_the_command_evaluates_the_target_the_file_labels_and_says_so(tmp_path: Path) -> None:
    out = io.StringIO()
    path = plausible_only_file(tmp_path / "plausible.jsonl", 3)
    call_command("evaluate_classifier", "--labels", str(path), "--train", str(path), stdout=out)
    text = out.getvalue()
    assert "--target not given: evaluating 'plausible'" in text and "no line labels typical" in text
    assert "target plausible" in text and "ROC AUC" in text
    typical = io.StringIO()
    both = str(labelled_file(tmp_path / "t.jsonl", 2))
    call_command("evaluate_classifier", "--labels", both, "--train", both, stdout=typical)
    assert "evaluating 'typical'" in typical.getvalue()
    unlabelled = tmp_path / "none.jsonl"
    unlabelled.write_bytes(orjson.dumps({"head": "mug", "relation": "capable_of", "tail": "hold tea"}) + b"\n")
    with pytest.raises(CommandError, match="labels none of the targets plausible, typical"):
        call_command("evaluate_classifier", "--labels", str(unlabelled))


def test_skip_invalid_leaves_out_formula_like_and_bad_lines_counting_them_with_their_line_numbers(
    tmp_path: Path,
) -> None:
    formula = orjson.dumps(
        {"query": "q", "product": {"id": "p"}, "relation": "capable_of", "tail": "=HYPERLINK(1)", "labels": {}}
    )
    unknown = orjson.dumps({"head": "mug", "relation": "no_such_relation", "tail": "x", "labels": {"plausible": True}})
    path = plausible_only_file(tmp_path / "mixed.jsonl", 3, extra=[formula, unknown])
    with pytest.raises(CommandError, match=r"mixed\.jsonl has 2 problem"):
        call_command("evaluate_classifier", "--labels", str(path), "--train", str(path))
    out = io.StringIO()
    call_command("evaluate_classifier", "--labels", str(path), "--train", str(path), "--skip-invalid", stdout=out)
    text = out.getvalue()
    assert "mixed.jsonl: skipped 2 invalid line(s) (--skip-invalid): lines 3, 4" in text
    assert "mixed.jsonl:3: tail" in text and "formula" in text
    assert "evaluating on 36 from mixed.jsonl" in text and "ROC AUC" in text
