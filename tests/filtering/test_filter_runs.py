"""Filter runs against PostgreSQL: decisions with reasons, status moves, re-runs, configurations, reports, API."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from filtering.config import DEFAULT_CONFIG
from filtering.models import FilterConfiguration, FilterDecision, FilterRun
from filtering.services import (
    filter_configuration_create,
    filter_run_claim,
    filter_run_create,
    filter_run_execute,
)
from knowledge.models import Candidate
from tests.conftest import search_buy
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD_TAILS = [
    "grip icy sidewalks",
    "keep feet warm during long winter walks",
    "support swollen ankles",
    "walk safely to the bus stop",
]
BAD_TAILS = {
    "because the product is used for": "incomplete",
    "winter boots for pregnant women": "echo",
    "call me at 555-0142 for details": "pii",
    "great great great great great": "junk",
}


def rules_only_config() -> dict[str, Any]:
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"]["enabled"] = False
    return config


def run_filters(version: int | None = None) -> FilterRun:
    run = filter_run_create(configuration_version=version)
    assert filter_run_claim(run_id=run.pk)
    return filter_run_execute(run_id=run.pk)


@pytest.fixture
def pool(ingest: Any, write_lines: Any) -> dict[str, int]:
    ingest(write_lines([search_buy(tail) for tail in [*GOOD_TAILS, *BAD_TAILS]]))
    filter_configuration_create(config=rules_only_config(), note="rules only")
    return dict(Candidate.objects.values_list("tail", "id"))


def test_a_run_pools_good_candidates_and_drops_bad_ones_with_rule_score_and_reason(pool: dict[str, int]) -> None:
    run = run_filters()
    assert run.status == "succeeded", run.message
    statuses = dict(Candidate.objects.values_list("tail", "status"))
    assert {statuses[tail] for tail in GOOD_TAILS} == {"pooled"}
    assert {statuses[tail] for tail in BAD_TAILS} == {"filtered_out"}
    assert run.candidates_seen == 8 and run.candidates_dropped == 4 and run.moved_to_pooled == 4
    for tail in BAD_TAILS:
        decisions = list(FilterDecision.objects.filter(run=run, candidate_id=pool[tail]))
        assert decisions, tail
        assert all(decision.reason and 0 <= decision.score <= 1 for decision in decisions)
    assert not FilterDecision.objects.filter(candidate_id__in=[pool[t] for t in GOOD_TAILS]).exists()
    assert run.config == FilterConfiguration.objects.get(is_active=True).config


def test_rerunning_with_the_same_configuration_changes_nothing(pool: dict[str, int]) -> None:
    run_filters()
    before = sorted(Candidate.objects.values_list("id", "status", "merged_support", "duplicate_of", "support_count"))
    again = run_filters()
    assert again.moved_to_pooled == 0 and again.moved_to_filtered_out == 0
    assert sorted(Candidate.objects.values_list("id", "status", "merged_support", "duplicate_of", "support_count")) == (
        before
    )
    first, second = FilterRun.objects.order_by("id")
    assert first.report["per_rule"] == second.report["per_rule"]


def test_a_new_configuration_can_bring_dropped_candidates_back_into_the_pool(pool: dict[str, int]) -> None:
    run_filters()
    loose = rules_only_config()
    for rule in loose["rules"].values():
        rule["enabled"] = False
    configuration = filter_configuration_create(config=loose, note="nothing enabled")
    run = run_filters(configuration.version)
    assert run.moved_to_pooled == 4 and run.candidates_dropped == 0
    assert set(Candidate.objects.values_list("status", flat=True)) == {"pooled"}


def test_candidates_already_in_annotation_are_left_alone(pool: dict[str, int]) -> None:
    Candidate.objects.filter(pk=pool["because the product is used for"]).update(status="in_annotation")
    run = run_filters()
    assert run.candidates_seen == 7
    assert Candidate.objects.get(pk=pool["because the product is used for"]).status == "in_annotation"


def test_the_report_counts_rules_overlaps_and_keeps_examples(pool: dict[str, int], capsys: Any) -> None:
    run = run_filters()
    report = run.report
    assert sum(report["per_rule"].values()) == FilterDecision.objects.filter(run=run).count()
    for rule, examples in report["examples"].items():
        assert 1 <= len(examples) <= 5 and report["per_rule"][rule] >= len(examples)
        assert all(example["reason"] for example in examples)
    call_command("filter_report", str(run.pk))
    output = capsys.readouterr().out
    assert f"filter run #{run.pk}" in output and "drops per rule" in output


@pytest.mark.sqlite
def test_the_report_measures_drops_and_kept_on_known_plausible_labels(
    ingest: Any, write_lines: Any, capsys: Any
) -> None:
    """Issue 21: the filters' precision on labelled data. Two of the four bad tails are labelled plausible (a
    wrong drop each), one good tail is labelled not plausible (junk kept), one line carries no label."""
    plausible = {
        GOOD_TAILS[0]: True,
        GOOD_TAILS[1]: True,
        GOOD_TAILS[2]: False,
        "because the product is used for": True,
        "winter boots for pregnant women": False,
        "call me at 555-0142 for details": True,
        "great great great great great": False,
    }
    lines = [
        search_buy(tail, **({"labels": {"plausible": plausible[tail]}} if tail in plausible else {}))
        for tail in [*GOOD_TAILS, *BAD_TAILS]
    ]
    ingest(write_lines(lines))
    filter_configuration_create(config=rules_only_config(), note="rules only")
    run = run_filters()
    labelled = run.report["labelled"]
    assert labelled["dropped"] == {"labelled": 4, "plausible": 2, "not_plausible_share": 0.5}
    assert labelled["kept"] == {"labelled": 3, "plausible": 2, "not_plausible_share": round(1 / 3, 4)}
    decisions = FilterDecision.objects.filter(run=run).select_related("candidate")
    expected: dict[str, list[bool]] = {}
    for decision in decisions:
        expected.setdefault(decision.rule, []).append(plausible[decision.candidate.tail])
    assert {rule: (counts["labelled"], counts["plausible"]) for rule, counts in labelled["per_rule"].items()} == {
        rule: (len(values), sum(values)) for rule, values in expected.items()
    }
    call_command("filter_report", str(run.pk))
    output = capsys.readouterr().out
    assert "dropped (any rule)" in output and "not plausible 50.0%" in output


def test_a_report_without_labelled_candidates_has_no_labelled_section(pool: dict[str, int]) -> None:
    assert "labelled" not in run_filters().report


def test_the_filter_command_runs_the_active_configuration_and_prints_the_report(
    pool: dict[str, int], capsys: Any
) -> None:
    call_command("filter", "--no-progress")
    assert "Kept 4 of 8 candidate(s)" in capsys.readouterr().out


def test_why_was_this_dropped_is_answered_by_the_api(pool: dict[str, int], api_client_for: Any) -> None:
    run_filters()
    client = api_client_for("curator")
    dropped = client.get(reverse("api-candidate-filter-decisions", args=[pool["call me at 555-0142 for details"]]))
    assert dropped.status_code == 200 and dropped.json()
    assert all({"run", "rule", "score", "reason"} <= set(item) for item in dropped.json())
    kept = client.get(reverse("api-candidate-filter-decisions", args=[pool["grip icy sidewalks"]]))
    assert kept.json() == []
    assert (
        api_client_for("annotator")
        .get(reverse("api-candidate-filter-decisions", args=[pool["grip icy sidewalks"]]))
        .status_code
        == 403
    )


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda c: c["rules"]["length"].__setitem__("min_tokens", -3), "rules.length.min_tokens"),
        (lambda c: c["rules"].__setitem__("astrology", {"enabled": True}), "rules"),
        (lambda c: c["rules"]["blocked"].__setitem__("patterns", ["(unclosed"]), "rules.blocked.patterns"),
        (lambda c: c["similarity"].__setitem__("max_head_similarity", 7), "similarity.max_head_similarity"),
    ],
)
def test_bad_configuration_values_are_rejected_with_the_path_named(api_client_for: Any, mutate: Any, path: str) -> None:
    config = copy.deepcopy(DEFAULT_CONFIG)
    mutate(config)
    response = api_client_for("admin").post(
        reverse("api-filter-configurations"), {"config": config, "note": "bad"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["path"].startswith(path) and path in response.json()["detail"]
    assert FilterConfiguration.objects.count() == 0


def test_a_configuration_with_a_null_character_is_a_400_not_a_database_error(api_client_for: Any) -> None:
    config = rules_only_config()
    config["rules"]["blocked"]["terms"] = ["spam\u0000"]
    response = api_client_for("admin").post(reverse("api-filter-configurations"), {"config": config}, format="json")
    assert response.status_code == 400 and "config" in response.json()
    assert FilterConfiguration.objects.count() == 0


def test_an_admin_stores_a_new_version_and_only_admins_may(api_client_for: Any) -> None:
    body = {"config": rules_only_config(), "note": "no similarity"}
    assert api_client_for("curator").post(reverse("api-filter-configurations"), body, format="json").status_code == 403
    response = api_client_for("admin").post(reverse("api-filter-configurations"), body, format="json")
    assert response.status_code == 201 and response.json()["is_active"] is True
    second = api_client_for("admin").post(reverse("api-filter-configurations"), body, format="json").json()
    assert second["version"] == response.json()["version"] + 1
    assert FilterConfiguration.objects.filter(is_active=True).count() == 1


def test_the_report_page_is_for_admins_and_escapes_llm_text(
    pool: dict[str, int], ingest: Any, write_lines: Any
) -> None:
    ingest(write_lines([search_buy("<script>alert(1)</script>")], "xss.jsonl"))
    run = run_filters()
    client = Client()
    client.force_login(UserFactory(role="curator"))
    assert client.get(reverse("filter-run-report", args=[run.pk])).status_code == 403
    client.force_login(UserFactory(role="admin"))
    page = client.get(reverse("filter-run-report", args=[run.pk])).content.decode()
    assert "Drops per rule" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as an example of the junk rule, escaped
    assert client.get(reverse("filter-runs")).status_code == 200


def test_near_duplicates_collapse_into_one_representative_whose_support_adds_up_once(
    ingest: Any, write_lines: Any
) -> None:
    ingest(
        write_lines(
            [
                search_buy("keep feet warm on icy winter walks", support=5),
                search_buy("keep feet warm on icy winter walk", support=2),
                search_buy("keeps feet warm on icy winter walks", support=1),
                search_buy("keep feet warm on icy winter walks", relation="used_for_function", support=4),
                search_buy("support swollen ankles"),
            ]
        )
    )
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"].update(encoder="tfidf", duplicate_similarity=0.75, max_head_similarity=1.0)
    filter_configuration_create(config=config)
    first = run_filters()
    assert first.status == "succeeded", first.message
    representative = Candidate.objects.get(tail="keep feet warm on icy winter walks", relation__slug="capable_of")
    members = Candidate.objects.filter(
        tail__in=["keep feet warm on icy winter walk", "keeps feet warm on icy winter walks"]
    )
    assert representative.status == "pooled" and representative.merged_support == 3
    assert {(m.status, m.duplicate_of_id) for m in members} == {("filtered_out", representative.pk)}
    assert FilterDecision.objects.filter(run=first, rule="near_duplicate").count() == 2
    other_relation = Candidate.objects.get(relation__slug="used_for_function")
    assert other_relation.status == "pooled" and other_relation.merged_support == 0  # never across relations
    run_filters()
    representative.refresh_from_db()
    assert representative.merged_support == 3  # set again, not added again


@pytest.mark.sqlite
def test_the_report_measures_a_near_duplicate_merge_by_agreement_with_its_representative(
    ingest: Any, write_lines: Any, capsys: Any
) -> None:
    """A plausible near-duplicate of a plausible representative is a right merge, not a wrong drop: the report
    counts the labelled pairs and how many carry the representative's label."""
    ingest(
        write_lines(
            [
                search_buy("keep feet warm on icy winter walks", support=5, labels={"plausible": True}),
                search_buy("keep feet warm on icy winter walk", support=2, labels={"plausible": True}),
                search_buy("keeps feet warm on icy winter walks", support=1, labels={"plausible": False}),
                search_buy("keep feet warm on icy winter walkss", support=1),  # no label: not a pair
                search_buy("grip icy sidewalks", relation="used_for_function", labels={"plausible": False}),
            ]
        )
    )
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"].update(encoder="tfidf", duplicate_similarity=0.75, max_head_similarity=1.0)
    filter_configuration_create(config=config)
    run = run_filters()
    assert run.status == "succeeded", run.message
    assert FilterDecision.objects.filter(run=run, rule="near_duplicate").count() == 3
    labelled = run.report["labelled"]
    assert labelled["near_duplicates"] == {"pairs": 2, "same_label": 1, "same_label_share": 0.5}
    assert labelled["per_rule"]["near_duplicate"] == {"labelled": 2, "plausible": 1, "not_plausible_share": 0.5}
    call_command("filter_report", str(run.pk))
    assert "near-duplicates with a labelled representative: 2 pairs, 1 with its label (50.0%" in capsys.readouterr().out
    client = Client()
    client.force_login(UserFactory(role="admin"))
    page = client.get(reverse("filter-run-report", args=[run.pk])).content.decode()
    assert "On candidates with a known plausible label" in page
    assert "2 pairs, 1 with its label" in page


def test_a_pool_without_labels_has_no_labelled_section_on_the_page(pool: dict[str, int]) -> None:
    run = run_filters()
    assert "labelled" not in run.report
    client = Client()
    client.force_login(UserFactory(role="admin"))
    page = client.get(reverse("filter-run-report", args=[run.pk])).content.decode()
    assert "Drops per rule" in page and "On candidates with a known plausible label" not in page
