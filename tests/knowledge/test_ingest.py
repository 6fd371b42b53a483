"""Ingest against PostgreSQL: formats, deduplication, idempotent re-ingest, bad input and options."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import CommandError, call_command

from knowledge.models import BehaviourPair, Candidate, Category, IngestedFile, IngestRun, Product, SearchQuery
from tests.conftest import search_buy

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def snapshot() -> dict[str, Any]:
    return {
        "candidates": sorted(Candidate.objects.values_list("dedup_key", "support_count", "status")),
        "products": sorted(Product.objects.values_list("external_id", "title", "category__name")),
        "queries": SearchQuery.objects.count(),
        "pairs": sorted(BehaviourPair.objects.values_list("key", "observation_count")),
        "categories": Category.objects.count(),
    }


def test_the_documented_examples_ingest_in_both_formats_into_the_same_three_candidates(ingest: Any) -> None:
    run = ingest(EXAMPLES / "candidates.jsonl", EXAMPLES / "candidates.csv")
    assert run.status == IngestRun.Status.SUCCEEDED, run.message
    assert run.lines_valid == 6 and run.candidates_created == 3
    kinds = dict(Candidate.objects.values_list("head_kind", "support_count"))
    assert kinds == {"search_buy": 2, "co_buy": 4, "plain": 2}  # each line's support adds up across formats
    boot = Product.objects.get(external_id="B0001")
    assert boot.title == "Slip-resistant ankle boot"
    assert boot.category is not None and boot.category.name == "Shoes"
    assert boot.attributes == {"color": "black"}
    pair = BehaviourPair.objects.get(kind="search_buy")
    assert pair.query is not None and pair.query.text == "winter boots for pregnant women"
    assert pair.observation_count == 12
    plain = Candidate.objects.get(head_kind="plain")
    assert plain.head_text == "yoga mat" and plain.pair is None
    assert plain.known_labels == {"plausible": True, "typical": True}
    assert set(Candidate.objects.values_list("status", flat=True)) == {"ingested"}
    assert set(Candidate.objects.values_list("ingest_run", flat=True)) == {run.pk}


def test_deleting_an_ingest_run_keeps_its_candidates_and_clears_their_provenance(ingest: Any) -> None:
    """The run's key has no database constraint (migration knowledge.0016): the ORM's SET_NULL still applies."""
    run = ingest(EXAMPLES / "candidates.jsonl")
    assert Candidate.objects.filter(ingest_run=run).count() == 3
    run.delete()
    assert Candidate.objects.count() == 3
    assert set(Candidate.objects.values_list("ingest_run", flat=True)) == {None}


def test_gzipped_files_are_read_by_content_whatever_their_name(ingest: Any, write_lines: Any) -> None:
    path = write_lines([search_buy()], "candidates.jsonl.gz", gz=True)
    run = ingest(path)
    assert run.status == "succeeded" and Candidate.objects.count() == 1


def test_the_same_candidate_in_other_words_is_one_candidate_whose_support_adds_up(
    ingest: Any, write_lines: Any
) -> None:
    path = write_lines(
        [
            search_buy("Grip icy sidewalks."),
            search_buy("grip  ICY sidewalks", support=3),
            search_buy("grip icy sidewalks", query="Winter boots for pregnant women "),
            search_buy("grip icy sidewalks", relation="used_for_function"),
        ]
    )
    run = ingest(path)
    assert run.candidates_created == 2
    supports = dict(Candidate.objects.values_list("relation__slug", "support_count"))
    assert supports == {"capable_of": 5, "used_for_function": 1}
    assert Candidate.objects.get(relation__slug="capable_of").tail == "Grip icy sidewalks."


def test_reingesting_the_same_file_changes_nothing(ingest: Any, write_lines: Any) -> None:
    path = write_lines([search_buy(), search_buy("keep feet warm"), search_buy("keep feet warm")])
    first = ingest(path)
    before = snapshot()
    second = ingest(path)
    assert second.status == "succeeded"
    assert second.files[0]["outcome"] == "already_ingested"
    assert "already ingested" in second.message
    assert snapshot() == before
    assert first.candidates_created == 2 and second.candidates_created == 0
    assert IngestedFile.objects.count() == 1


def test_a_new_file_with_known_candidates_adds_support_and_updates_products(ingest: Any, write_lines: Any) -> None:
    ingest(write_lines([search_buy(labels={"plausible": True})], "a.jsonl"))
    product = {"id": "B0001", "title": "Slip-resistant ankle boot, new title", "category": "Boots"}
    run = ingest(
        write_lines(
            [search_buy("new tail"), search_buy(product=product, count=5, labels={"typical": False})],
            "b.jsonl",
        )
    )
    assert run.candidates_created == 1 and run.candidates_merged == 1
    candidate = Candidate.objects.get(tail="grip icy sidewalks")
    assert candidate.support_count == 2
    assert candidate.known_labels == {"plausible": True, "typical": False}
    boot = Product.objects.get(external_id="B0001")
    assert boot.title.endswith("new title") and boot.category.name == "Boots"
    assert BehaviourPair.objects.get().observation_count == 12  # the larger count is kept
    assert ingest(write_lines([search_buy(count=40)], "c.jsonl")).status == "succeeded"
    assert BehaviourPair.objects.get().observation_count == 40


def test_a_file_with_one_bad_line_is_rejected_whole_with_the_line_and_field_named(
    ingest: Any, write_lines: Any
) -> None:
    path = write_lines([search_buy(), search_buy("ok"), search_buy("x", relation="teleports_to"), search_buy("fine")])
    run = ingest(path)
    assert run.status == IngestRun.Status.FAILED
    assert run.errors == [
        {
            "file": "candidates.jsonl",
            "line": 3,
            "field": "relation",
            "message": "unknown relation 'teleports_to'",
        }
    ]
    assert "nothing was imported" in run.message
    assert (Candidate.objects.count(), Product.objects.count(), SearchQuery.objects.count()) == (0, 0, 0)
    assert IngestedFile.objects.count() == 0


def test_a_bad_file_among_good_ones_imports_nothing_from_any_of_them(ingest: Any, write_lines: Any) -> None:
    good = write_lines([search_buy()], "good.jsonl")
    bad = write_lines(["{not json"], "bad.jsonl")
    run = ingest(good, bad)
    assert run.status == "failed"
    assert run.errors[0]["file"] == "bad.jsonl" and run.errors[0]["line"] == 1
    assert Candidate.objects.count() == 0
    assert ingest(good).status == "succeeded"  # the good file was not marked as ingested


@pytest.mark.parametrize(
    "line",
    [
        b"{not json",
        b'{"head": "\xff\xfe", "relation": "used_as", "tail": "x"}',
        b"[1, 2, 3]",
        b'{"head": "mug", "relation": "used_as", "tail": "x", "extra": 1}',
        b'{"query": "q", "product": {"id": "B"}, "relation": "used_as", "tail": "x", "count": "3"}',
        b'{"query": "q", "product": {"id": "B"}, "relation": "used_as"}',
        b'{"head": "' + b"h" * 600 + b'", "relation": "used_as", "tail": "x"}',
    ],
    ids=[
        "bad-json",
        "invalid-utf8",
        "not-an-object",
        "unknown-field",
        "wrong-type",
        "missing-tail",
        "too-long",
    ],
)
def test_every_kind_of_bad_line_fails_the_run_and_imports_nothing(ingest: Any, write_lines: Any, line: bytes) -> None:
    run = ingest(write_lines([search_buy(), line]))
    assert run.status == "failed"
    assert run.lines_invalid == 1 and run.errors[0]["line"] == 2
    assert Candidate.objects.count() == 0


def test_the_report_keeps_the_first_fifty_problems_and_counts_them_all(ingest: Any, write_lines: Any) -> None:
    run = ingest(write_lines([search_buy(f"t{i}", relation="nope") for i in range(120)]))
    assert run.error_count == 120 and len(run.errors) == 50
    assert [error["line"] for error in run.errors] == list(range(1, 51))


def test_skip_invalid_imports_the_good_lines_and_writes_each_skipped_line_to_a_rejects_file(
    ingest: Any, write_lines: Any
) -> None:
    run = ingest(write_lines([search_buy(), "{oops", search_buy(""), search_buy("ok")]), skip_invalid=True)
    assert run.status == "succeeded"
    assert run.lines_valid == 2 and run.lines_invalid == 2
    assert Candidate.objects.count() == 2
    rejects = [orjson.loads(line) for line in Path(run.rejects_path).read_bytes().splitlines()]
    assert [reject["line"] for reject in rejects] == [2, 3]
    assert rejects[0]["raw"] == "{oops"
    assert rejects[1]["errors"] == [{"field": "tail", "message": "is required"}]


def test_a_dry_run_validates_and_imports_nothing(ingest: Any, write_lines: Any) -> None:
    path = write_lines([search_buy(), search_buy("b")])
    run = ingest(path, dry_run=True)
    assert run.status == "succeeded" and run.lines_valid == 2
    assert "Dry run" in run.message
    assert Candidate.objects.count() == 0 and IngestedFile.objects.count() == 0
    assert ingest(path).candidates_created == 2


def test_a_truncated_gzip_file_is_a_clear_error(ingest: Any, tmp_path: Path) -> None:
    data = gzip.compress(orjson.dumps(search_buy()) * 1000)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    run = ingest(path)
    assert run.status == "failed"
    assert any(error["field"] == "(file)" for error in run.errors)
    assert Candidate.objects.count() == 0


def test_a_gzip_bomb_past_the_cap_is_refused(ingest: Any, tmp_path: Path, settings: Any) -> None:
    settings.INGEST_MAX_DECOMPRESSED_BYTES = 100_000
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip.compress(b" " * 5_000_000))
    run = ingest(path)
    assert run.status == "failed" and "exceeds" in run.errors[0]["message"]


def test_csv_bad_rows_are_named_by_line_and_column(ingest: Any, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "head,relation,tail,support,label_plausible\n"
        "mug,used_for_function,hold coffee,1,yes\n"
        "mug,used_for_function,hold tea,-4,perhaps\n"
    )
    run = ingest(path)
    assert run.status == "failed"
    assert {(error["line"], error["field"]) for error in run.errors} == {
        (3, "support"),
        (3, "label_plausible"),
    }


def test_the_ingest_command_prints_the_report_and_fails_on_bad_input(write_lines: Any, db: Any, capsys: Any) -> None:
    good = write_lines([search_buy(), search_buy("b")], "good.jsonl")
    call_command("ingest", str(good), "--no-progress")
    assert "2 new candidate(s)" in capsys.readouterr().out
    bad = write_lines([search_buy("c", relation="nope")], "bad.jsonl")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("ingest", str(bad), "--no-progress")
    assert "bad.jsonl line 1, relation: unknown relation 'nope'" in capsys.readouterr().out


def test_a_file_whose_format_cannot_be_told_is_refused_before_anything_runs(db: Any, tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("{}")
    with pytest.raises(CommandError, match="cannot tell the format"):
        call_command("ingest", str(path), "--no-progress")
    assert IngestRun.objects.count() == 0


def test_a_file_name_that_is_not_utf8_is_refused_with_a_clear_error(db: Any, tmp_path: Path) -> None:
    raw_path = os.fsencode(tmp_path) + b"/bad-\xff-name.jsonl"
    with open(raw_path, "wb") as handle:
        handle.write(orjson.dumps(search_buy()) + b"\n")
    with pytest.raises(CommandError, match="not valid UTF-8"):
        call_command("ingest", os.fsdecode(raw_path), "--no-progress")
    assert IngestRun.objects.count() == 0


def test_a_running_ingest_is_taken_over_only_by_a_redelivery_of_its_own_task_whose_claimant_stopped_beating(
    ingest: Any, write_lines: Any, db: Any, settings: Any
) -> None:
    import datetime as dt

    from django.utils import timezone

    from knowledge.models import IngestRun
    from knowledge.services import IngestFileSpec, ingest_run_claim, ingest_run_create, ingest_run_execute
    from tests.conftest import search_buy

    path = write_lines([search_buy("grip icy sidewalks"), search_buy("keep feet warm")], name="takeover.jsonl")
    run = ingest_run_create(files=[IngestFileSpec(path=path, name=path.name)], source=IngestRun.Source.CLI)
    assert ingest_run_claim(run_id=run.pk, claimer="task-1")
    assert not ingest_run_claim(run_id=run.pk, claimer="task-2")  # someone else's run
    assert not ingest_run_claim(run_id=run.pk)  # a plain second claim
    # the same task delivered again while its claimant still beats (it outlived the visibility timeout): refused
    assert not ingest_run_claim(run_id=run.pk, claimer="task-1")
    missed = timezone.now() - dt.timedelta(seconds=3 * settings.RUN_HEARTBEAT_SECONDS + 1)
    IngestRun.objects.filter(pk=run.pk).update(heartbeat_at=missed)  # its worker died: no beat for three periods
    assert not ingest_run_claim(run_id=run.pk, claimer="task-2")  # not stale yet for anyone else
    assert ingest_run_claim(run_id=run.pk, claimer="task-1")  # the same task, delivered again: starts over
    run = ingest_run_execute(run_id=run.pk)
    assert run.status == "succeeded" and run.candidates_created == 2 and run.attempts == 2
    stale = timezone.now() - dt.timedelta(seconds=settings.RUN_STALE_SECONDS + 1)
    IngestRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=stale)
    assert ingest_run_claim(run_id=run.pk, claimer="task-3")  # stale: anyone (the sweep's new message) takes it


@pytest.mark.skipif(os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith("sqlite"), reason="PostgreSQL's bulk path")
def test_a_first_import_in_bulk_builds_the_candidate_indexes_and_keys_again_as_they_were(
    ingest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first import of at least ``BULK_MIN_ROWS`` rows drops the candidate's pair and relation keys and its plain
    indexes, inserts, and builds them again (core/foreign_keys.py): same names, same definitions, same rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core import foreign_keys

    def schema() -> list[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'knowledge_candidate' UNION ALL "
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'knowledge_candidate'::regclass ORDER BY 1"
            )
            return list(cursor.fetchall())

    before = schema()
    monkeypatch.setattr(foreign_keys, "BULK_MIN_ROWS", 2)
    with CaptureQueriesContext(connection) as captured:
        run = ingest(EXAMPLES / "candidates.jsonl", EXAMPLES / "candidates.csv")

    assert run.status == IngestRun.Status.SUCCEEDED, run.message
    statements = [q["sql"] for q in captured.captured_queries]
    assert any(s.startswith("DROP INDEX") and "candidate_pair_id" in s for s in statements)  # the bulk path ran
    assert schema() == before
    assert dict(Candidate.objects.values_list("head_kind", "support_count")) == {
        "search_buy": 2,
        "co_buy": 4,
        "plain": 2,
    }
    assert set(Candidate.objects.values_list("ingest_run", flat=True)) == {run.pk}
