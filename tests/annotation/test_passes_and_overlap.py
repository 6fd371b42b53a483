"""The answer path's pure decisions (annotation/maths/passes.py, annotation/maths/overlap.py), table-driven, no
database: which question a pass asks, and what adaptive overlap decides for a candidate's questions.

Questions are ids 1, 2, 3 asked in that order; annotators are ids 10 and up; two agreeing answers settle a question
and a disagreement asks for a third (min 2, max 3 answers), as the default settings say.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from annotation.maths import OverlapDecision, overlap_decide, pass_question
from annotation.maths.overlap import Answer, StoredLabel

ROOT = Path(__file__).resolve().parents[2]
ORDER = [1, 2, 3]


@pytest.mark.parametrize(
    ("own", "settled", "gold", "asked"),
    [
        pytest.param({}, {}, False, 1, id="a new pass starts at the first question"),
        pytest.param({}, {1: True}, False, 2, id="a question settled Yes is skipped"),
        pytest.param({}, {1: True, 2: True}, False, 3, id="every settled Yes is skipped"),
        pytest.param({}, {1: None}, False, 1, id="an undecided question (a disagreement) is asked"),
        pytest.param({}, {1: True, 2: False}, False, None, id="a question settled No ends the pass"),
        pytest.param({}, {1: False, 2: True}, False, None, id="a settled No first ends it before anything"),
        pytest.param({}, {1: True, 2: True, 3: True}, False, None, id="nothing is left when all are settled Yes"),
        pytest.param({1: True}, {}, False, 2, id="the annotator's own Yes moves the pass on"),
        pytest.param({1: True}, {1: None}, False, 2, id="their own Yes counts though the question is undecided"),
        pytest.param({1: False}, {}, False, None, id="the annotator's own No ends the pass"),
        pytest.param({1: False}, {1: None, 2: True}, False, None, id="their own No ends it whatever is settled"),
        pytest.param({1: True}, {2: False}, False, None, id="their Yes, then a settled No, ends it"),
        pytest.param({1: True}, {2: True, 3: None}, False, 3, id="own Yes, settled Yes, then the undecided one"),
        pytest.param({1: True, 2: True, 3: True}, {}, False, None, id="the pass ends after the last question"),
        pytest.param({}, {1: True, 2: True}, True, 1, id="gold asks every question, settled or not"),
        pytest.param({1: True}, {2: False}, True, 2, id="gold ignores a settled No (its known answer)"),
        pytest.param({1: True, 2: False}, {}, True, None, id="gold ends at the annotator's first No"),
        pytest.param({1: True, 2: True, 3: True}, {}, True, None, id="gold ends after the last question"),
    ],
)
def test_a_pass_asks_the_first_question_neither_answered_nor_settled_yes(
    own: dict[int, bool], settled: dict[int, bool | None], gold: bool, asked: int | None
) -> None:
    assert pass_question(ORDER, own, settled, gold=gold) == asked


def test_a_pass_walks_the_questions_in_the_order_given_not_by_id() -> None:
    assert pass_question([3, 1, 2], {}, {3: True}) == 1
    assert pass_question([3, 1, 2], {3: True, 1: True}, {}) == 2
    assert pass_question([], {}, {}) is None


def _decide(
    answers: list[Answer],
    labels: dict[int, StoredLabel] | None = None,
    leased: list[int] | None = None,
    in_flight: int = 0,
) -> OverlapDecision:
    return overlap_decide(ORDER, answers, labels or {}, leased or [], in_flight=in_flight, min_answers=2, max_answers=3)


YES, NO = True, False


@pytest.mark.parametrize(
    ("answers", "leased", "in_flight", "wanted", "done", "examined"),
    [
        pytest.param([], [], 0, 2, False, [1], id="an unanswered candidate wants two annotators"),
        pytest.param([(10, 1, YES, False)], [], 1, 1, False, [1], id="one answer wants one more"),
        pytest.param(
            [(10, 1, YES, False), (11, 1, NO, False)], [], 0, 1, False, [1], id="a disagreement asks for a third"
        ),
        pytest.param(
            [(10, 1, YES, False), (11, 1, NO, False), (10, 2, YES, False)],
            [10],
            1,
            2,
            False,
            [1],
            id="a lease walking on past the disagreement holds no slot for it",
        ),
        pytest.param(
            [(10, 1, YES, False), (11, 1, NO, False)],
            [12],
            1,
            1,
            False,
            [1],
            id="a lease that has not answered the question is not walking on",
        ),
        pytest.param(
            [(10, 1, YES, False), (11, 1, YES, False)], [], 0, 2, False, [1, 2], id="settled Yes moves to the next"
        ),
        pytest.param(
            [(10, 1, YES, False), (11, 1, YES, False), (10, 2, YES, False), (11, 2, NO, False)],
            [10, 11],
            2,
            3,
            False,
            [1, 2],
            id="a disagreement on a later question: its answerers still leased are walking on",
        ),
        pytest.param(
            [(10, 1, NO, False), (11, 1, NO, False)], [], 2, 0, True, [1], id="a settled No closes the candidate"
        ),
        pytest.param(
            [(a, q, YES, False) for a in (10, 11) for q in ORDER], [], 0, 0, True, ORDER, id="all settled Yes closes"
        ),
        pytest.param(
            [(10, 1, YES, False), (11, 1, YES, False), (12, 1, NO, False), (13, 1, NO, False)],
            [],
            0,
            0,
            True,
            [1],
            id="a tie at the cap wants nobody more (a curator decides)",
        ),
        pytest.param(
            [(10, 1, YES, False), (11, 1, YES, True)], [], 0, 1, False, [1], id="an excluded answer does not count"
        ),
        pytest.param(
            [(10, 1, YES, False), (11, 1, YES, True), (10, 2, YES, False)],
            [11],
            1,
            2,
            False,
            [1],
            id="an excluded annotator's lease is still walking on",
        ),
    ],
)
def test_adaptive_overlap_wants_annotators_for_the_first_question_not_settled_yes(
    answers: list[Answer], leased: list[int], in_flight: int, wanted: int, done: bool, examined: list[int]
) -> None:
    decision = _decide(answers, leased=leased, in_flight=in_flight)
    assert (decision.wanted, decision.done, list(decision.results)) == (wanted, done, examined)
    assert decision.closes is done
    assert decision.in_flight == (0 if done else in_flight)


def test_a_settled_no_writes_its_label_counts_it_as_new_and_frees_the_slots_in_flight() -> None:
    decision = _decide([(10, 1, NO, False), (11, 1, NO, False)], in_flight=2)
    ((question, result, _method),) = decision.upserts
    assert (question, result.value, result.confidence, result.yes, result.no) == (1, False, 1.0, 0, 2)
    assert decision.newly_decided == [1]
    assert (decision.deletes, decision.in_flight, decision.closes) == ([], 0, True)


def test_a_majority_of_three_settles_a_disagreement_with_its_share_as_confidence() -> None:
    answers: list[Answer] = [(10, 1, YES, False), (11, 1, NO, False), (12, 1, YES, False)]
    decision = _decide(answers, labels={1: (None, 1, 1, "majority")})
    ((question, result, _method),) = decision.upserts
    assert (question, result.value, result.confidence) == (1, True, pytest.approx(2 / 3))
    assert decision.newly_decided == [1]  # it had a label, but no value
    assert (decision.wanted, list(decision.results)) == (2, [1, 2])


@pytest.mark.parametrize(
    ("labels", "upserted", "newly"),
    [
        pytest.param({}, [1], [1], id="a first label is written and new"),
        pytest.param({1: (True, 2, 0, "majority")}, [], [], id="an unchanged label is not written again"),
        pytest.param({1: (True, 0, 0, "")}, [1], [], id="a label read without counts is rewritten, not new"),
        pytest.param({1: (True, 3, 0, "majority")}, [1], [], id="changed counts are written, not new"),
        pytest.param({1: (None, 1, 0, "majority")}, [1], [1], id="a label gaining a value is new"),
    ],
)
def test_labels_are_written_only_when_their_counts_change_and_new_only_when_first_decided(
    labels: dict[int, StoredLabel], upserted: list[int], newly: list[int]
) -> None:
    decision = _decide([(10, 1, YES, False), (11, 1, YES, False)], labels=labels)
    assert [question for question, _result, _method in decision.upserts] == upserted
    assert decision.newly_decided == newly


def test_a_label_left_without_answers_is_deleted_and_its_question_asked_again() -> None:
    decision = _decide([], labels={1: (None, 1, 0, "majority")}, in_flight=1)
    assert (decision.deletes, decision.upserts, decision.newly_decided) == ([1], [], [])
    assert (decision.wanted, decision.in_flight, decision.done) == (2, 1, False)


def test_questions_after_the_first_unsettled_one_are_neither_examined_nor_rewritten() -> None:
    answers: list[Answer] = [(10, 1, YES, False), (10, 3, NO, False), (11, 3, NO, False)]
    decision = _decide(answers, labels={2: (True, 2, 0, "majority")})
    assert list(decision.results) == [1]
    assert [question for question, _result, _method in decision.upserts] == [1]
    assert decision.deletes == [] and decision.newly_decided == []


def test_the_new_decision_modules_import_without_django() -> None:
    code = (
        "import sys, annotation.maths.passes, annotation.maths.overlap; "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
