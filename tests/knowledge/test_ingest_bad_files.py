"""Bad files against PostgreSQL: each fails its run with the file, line and field named, and imports nothing.

One table of malformed files (bad JSON, wrong types, huge fields, invalid UTF-8, spreadsheet formulas, gzip bombs
within and past the cap, empty and blank files, binary files, a CSV header alone, a file bad only in its last
line) goes through the same services as the CLI; every table ingest writes is checked afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import CommandError, call_command

from knowledge.models import Candidate, IngestRun
from tests.knowledge.bad_files import (
    BAD_FILES,
    CAP,
    CSV_GOOD,
    CSV_HEADER,
    GOOD,
    PLAIN,
    assert_names_the_problem,
    assert_nothing_imported,
    jsonl,
)

pytestmark = pytest.mark.django_db


def write_bad_file(folder: Path, bad: Any) -> Path:
    path = folder / bad.name
    path.write_bytes(bad.content)
    return path


@pytest.fixture(autouse=True)
def _small_cap(settings: Any) -> None:
    settings.INGEST_MAX_DECOMPRESSED_BYTES = CAP


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_fails_the_run_names_file_line_and_field_and_imports_nothing(
    case: str, ingest: Any, tmp_path: Path
) -> None:
    bad = BAD_FILES[case]
    path = write_bad_file(tmp_path, bad)
    run = ingest(path)
    assert_names_the_problem(run, bad)
    assert_nothing_imported()


@pytest.mark.parametrize(
    "case", ["formula-csv-tail", "formula-jsonl-head", "invalid-utf8-jsonl", "empty-csv", "gzip-bomb-past-the-cap"]
)
def test_a_bad_file_among_good_ones_imports_nothing_from_any_of_them(case: str, ingest: Any, tmp_path: Path) -> None:
    bad = BAD_FILES[case]
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl(GOOD, PLAIN))
    path = write_bad_file(tmp_path, bad)
    assert_names_the_problem(ingest(good, path), bad)
    assert_nothing_imported()


@pytest.mark.parametrize(
    "case",
    [
        "gzip-bomb-past-the-cap",
        "truncated-gzip",
        "empty-jsonl",
        "blank-lines-only",
        "csv-header-only",
        "csv-bad-last-line",
        "invalid-utf8-csv-header",
    ],
)
def test_skip_invalid_still_fails_a_file_that_cannot_be_read_to_the_end_or_holds_no_data(
    case: str, ingest: Any, tmp_path: Path
) -> None:
    """Lines that were never read cannot be written to the rejects file, so skipping them would lose them."""
    bad = BAD_FILES[case]
    path = write_bad_file(tmp_path, bad)
    assert_names_the_problem(ingest(path, skip_invalid=True), bad)
    assert_nothing_imported()


def test_skip_invalid_writes_formula_lines_to_the_rejects_file_and_imports_the_rest(
    ingest: Any, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        CSV_HEADER
        + CSV_GOOD
        + CSV_GOOD.replace(b"grip icy sidewalks", b"=cmd|' /C calc'!A0")
        + CSV_GOOD.replace(b"grip icy sidewalks", b'"-20\xc2\xb0C rated, keeps feet warm"').replace(b"B0001", b"B2")
    )
    run = ingest(path, skip_invalid=True)
    assert run.status == "succeeded", run.message
    assert sorted(Candidate.objects.values_list("tail", flat=True)) == [
        "-20°C rated, keeps feet warm",
        "grip icy sidewalks",
    ]
    rejects = [orjson.loads(raw) for raw in Path(run.rejects_path).read_bytes().splitlines()]
    assert [(reject["line"], reject["errors"][0]["field"]) for reject in rejects] == [(3, "tail")]
    assert "=cmd" in rejects[0]["raw"]


def test_a_bom_at_the_start_of_a_jsonl_file_is_accepted(ingest: Any, tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl(GOOD).replace(b"\n", b"\r\n"))
    run = ingest(path)
    assert run.status == "succeeded", run.errors
    assert Candidate.objects.count() == 1


def test_the_ingest_command_names_a_formula_cell_and_fails(db: Any, tmp_path: Path, capsys: Any) -> None:
    bad = BAD_FILES["formula-csv-title"]
    path = write_bad_file(tmp_path, bad)
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("ingest", str(path), "--no-progress")
    out = capsys.readouterr().out
    assert "c.csv line 2, product.title: starts with '+' followed by something other than a number" in out
    assert_nothing_imported()


def test_the_ingest_command_reports_an_empty_file_as_a_failure(db: Any, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="1 file"):
        call_command("ingest", str(path), "--no-progress")
    assert "empty.jsonl line 1, (file): is empty; there is nothing to import" in capsys.readouterr().out
    assert IngestRun.objects.get().status == "failed"
