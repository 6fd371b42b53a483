"""The candidate lifecycle: which status may follow which. Pure data, no Django.

ingested -> filtered_out | pooled | labelled (an import of a peer tool's history brings its labels)
pooled -> in_annotation | scored | filtered_out (a re-run of the filters) | accepted | rejected (a curator decides
    it directly)
filtered_out -> pooled (a re-run of the filters with a new configuration)
in_annotation -> labelled | pooled (its leases lapsed)
labelled -> scored | accepted | rejected
scored -> accepted | rejected | in_annotation (uncertain: back to annotators) | pooled (a new model or a
    rejected review batch no longer accepts it) | labelled (it was still queued, and annotators settled it)
accepted | rejected -> pooled (a curator reopens it) | rejected | accepted (a curator changes the decision)
"""

from __future__ import annotations

INGESTED = "ingested"
FILTERED_OUT = "filtered_out"
POOLED = "pooled"
IN_ANNOTATION = "in_annotation"
LABELLED = "labelled"
SCORED = "scored"
ACCEPTED = "accepted"
REJECTED = "rejected"

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    INGESTED: frozenset({FILTERED_OUT, POOLED, LABELLED}),
    FILTERED_OUT: frozenset({POOLED}),
    POOLED: frozenset({IN_ANNOTATION, SCORED, FILTERED_OUT, ACCEPTED, REJECTED}),
    IN_ANNOTATION: frozenset({LABELLED, POOLED}),
    LABELLED: frozenset({SCORED, ACCEPTED, REJECTED, IN_ANNOTATION}),
    SCORED: frozenset({ACCEPTED, REJECTED, IN_ANNOTATION, POOLED, LABELLED}),
    ACCEPTED: frozenset({POOLED, REJECTED}),
    REJECTED: frozenset({POOLED, ACCEPTED}),
}


def predecessors(status: str) -> frozenset[str]:
    """The statuses from which a candidate may move to ``status``."""
    if status not in ALLOWED_TRANSITIONS:
        raise ValueError(f"unknown candidate status {status!r}")
    return frozenset(source for source, targets in ALLOWED_TRANSITIONS.items() if status in targets)
