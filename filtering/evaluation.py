"""Quality of a filter configuration on the hand-labelled check set: per-rule precision and recall, good kept,
bad removed. Pure Python (plus the similarity module when it is enabled); no Django.

    python -m filtering.evaluation            # prints the report for the shipped default configuration
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from filtering.checkset import CheckItem, load_checkset
from filtering.config import DEFAULT_CONFIG, validate_config
from filtering.rules import build_rules, evaluate
from filtering.rules.generic import tail_stats_from_rows
from filtering.types import CandidateText, Verdict

# The defects each rule is meant to catch (its recall is measured on these).
RULE_TARGETS: dict[str, frozenset[str]] = {
    "length": frozenset({"length", "junk"}),
    "junk": frozenset({"junk"}),
    "incomplete": frozenset({"incomplete"}),
    "echo": frozenset({"echo_query", "echo_title"}),
    "generic": frozenset({"generic"}),
    "blocked": frozenset({"blocked_pii"}),
    "similar_to_head": frozenset({"paraphrase", "echo_query", "echo_title"}),
    "near_duplicate": frozenset(),
}


@dataclass
class RuleQuality:
    fired: int = 0
    fired_on_bad: int = 0
    fired_on_target: int = 0
    targets: int = 0

    @property
    def precision(self) -> float:
        return self.fired_on_bad / self.fired if self.fired else 1.0

    @property
    def recall(self) -> float:
        return self.fired_on_target / self.targets if self.targets else float("nan")


@dataclass
class QualityReport:
    good: int
    bad: int
    good_kept: int
    bad_removed: int
    per_rule: dict[str, RuleQuality]
    removed_per_defect: dict[str, tuple[int, int]]
    wrongly_dropped: list[tuple[CheckItem, list[Verdict]]] = field(default_factory=list)

    @property
    def good_kept_rate(self) -> float:
        return self.good_kept / self.good if self.good else 1.0

    @property
    def bad_removed_rate(self) -> float:
        return self.bad_removed / self.bad if self.bad else 1.0

    def lines(self) -> list[str]:
        out = [
            f"check set: {self.good} good, {self.bad} bad",
            f"good kept:   {self.good_kept}/{self.good} = {self.good_kept_rate:.1%}  (target >= 95%)",
            f"bad removed: {self.bad_removed}/{self.bad} = {self.bad_removed_rate:.1%}",
            f"{'rule':<18}{'fired':>7}{'precision':>11}{'recall':>9}  (recall on its target defects)",
        ]
        for name, quality in sorted(self.per_rule.items()):
            recall = "n/a" if quality.targets == 0 else f"{quality.recall:.1%}"
            out.append(f"{name:<18}{quality.fired:>7}{quality.precision:>11.1%}{recall:>9}")
        out.append("removed per defect:")
        for defect, (removed, total) in sorted(self.removed_per_defect.items()):
            out.append(f"  {defect:<14}{removed:>4}/{total:<4} {removed / total:.0%}")
        for item, verdicts in self.wrongly_dropped:
            reasons = "; ".join(f"{v.rule}: {v.reason}" for v in verdicts)
            out.append(f"  good but dropped: line {item.line} {item.tail!r} ({reasons})")
        return out


def _candidate(item: CheckItem) -> CandidateText:
    return CandidateText(
        id=item.line,
        relation=item.relation,
        tail=item.tail,
        tail_norm=item.tail_norm,
        head_key=item.head_key,
        head_kind=item.kind,
        query=item.query,
        titles=item.titles,
        categories=item.categories,
        head_text=item.head_text,
    )


def evaluate_configuration(config: Any, items: Sequence[CheckItem] | None = None) -> QualityReport:
    """Run a configuration's rules (and similarity filter, when enabled) over the check set and score them."""
    config = validate_config(config)
    items = list(items) if items is not None else load_checkset()
    candidates = [_candidate(item) for item in items]
    stats = tail_stats_from_rows((c.tail_norm, c.head_key, c.categories[0] if c.categories else "") for c in candidates)
    rules = build_rules(config, tail_stats=stats)
    verdicts: dict[int, list[Verdict]] = {c.id: list(v) for c, v in evaluate(rules, candidates)}
    if config["similarity"]["enabled"]:
        from filtering.similarity import make_encoder, similarity_filter

        kept = [c for c in candidates if not verdicts[c.id]]
        result = similarity_filter(
            kept,
            make_encoder(config["similarity"]),
            max_head_similarity=config["similarity"]["max_head_similarity"],
            tfidf_max_head_similarity=config["similarity"]["tfidf_max_head_similarity"],
            duplicate_similarity=config["similarity"]["duplicate_similarity"],
        )
        for candidate, head, duplicate in zip(kept, result.head_verdicts, result.duplicate_verdicts, strict=True):
            verdicts[candidate.id].extend(v for v in (head, duplicate) if v is not None)

    per_rule: dict[str, RuleQuality] = {name: RuleQuality() for name in RULE_TARGETS}
    defect_totals: Counter[str] = Counter(item.defect for item in items if not item.is_good)
    removed: Counter[str] = Counter()
    wrongly_dropped = []
    for item in items:
        fired = verdicts[item.line]
        for name, quality in per_rule.items():
            if item.defect in RULE_TARGETS[name]:
                quality.targets += 1
        for verdict in {v.rule: v for v in fired}.values():
            quality = per_rule.setdefault(verdict.rule, RuleQuality())
            quality.fired += 1
            quality.fired_on_bad += not item.is_good
            quality.fired_on_target += item.defect in RULE_TARGETS.get(verdict.rule, frozenset())
        if fired and not item.is_good:
            removed[item.defect] += 1
        if fired and item.is_good:
            wrongly_dropped.append((item, fired))
    good = sum(item.is_good for item in items)
    return QualityReport(
        good=good,
        bad=len(items) - good,
        good_kept=good - len(wrongly_dropped),
        bad_removed=sum(removed.values()),
        per_rule=per_rule,
        removed_per_defect={defect: (removed[defect], total) for defect, total in defect_totals.items()},
        wrongly_dropped=wrongly_dropped,
    )


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    config: dict[str, Any] = dict(DEFAULT_CONFIG)
    if "--rules-only" in args:
        config = {**DEFAULT_CONFIG, "similarity": {**DEFAULT_CONFIG["similarity"], "enabled": False}}
    if "--tfidf" in args:
        config = {**DEFAULT_CONFIG, "similarity": {**DEFAULT_CONFIG["similarity"], "encoder": "tfidf"}}
    report = evaluate_configuration(config)
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
