"""Which question a pass asks: the walk over a candidate's questions, in order, as pure data.

A *pass* is one annotator's turn on one candidate. Questions are identified by id and given in the order they are
asked; ``own`` is what this annotator already answered on the candidate and ``settled`` its consolidated labels
(``None``: answered but not decided). No Django import: the services feed ids and map the answer back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["pass_question"]


def pass_question(
    order: Sequence[int],
    own: Mapping[int, bool],
    settled: Mapping[int, bool | None],
    *,
    gold: bool = False,
) -> int | None:
    """The id of the question the pass asks now, or None when the pass is over.

    Walking the questions in order: one the annotator answered Yes is passed, one they answered No ends the pass;
    otherwise a question settled Yes is skipped, one settled No ends the pass (a No closes the candidate: later
    questions are never asked), and the first one not settled is asked. On a ``gold`` candidate the settled labels
    are the known answers, so they are ignored: every question is asked in order until the annotator's first No,
    since skipping the known ones would tell the annotator that the candidate is gold.
    """
    for question in order:
        answered = own.get(question)
        if answered is not None:
            if answered is False:
                return None
            continue
        if gold:
            return question
        value = settled.get(question)
        if value is True:
            continue
        if value is False:
            return None
        return question
    return None
