"""The ``Rule`` contract shared by every rule family. Standard library only.

A rule has a ``name`` (its key under ``rules`` in the filter configuration), typed parameters (a frozen dataclass
whose fields are exactly the configuration keys other than ``enabled``, see ``filtering/config.py``) and
``check(candidate) -> Verdict | None``: a ``Verdict`` drops the candidate, ``None`` keeps it. Rules are pure and
stateless after construction, so one instance may check any number of candidates, in any order.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from filtering.rules.context import Facts, FactsBuilder
from filtering.types import CandidateText, Verdict


class Rule(ABC):
    """Base of all rules. Subclasses set ``name`` and ``Params`` and implement ``inspect``."""

    name: ClassVar[str]
    Params: ClassVar[type[Any]]

    def __init__(self, params: Any) -> None:
        if not isinstance(params, self.Params):
            raise TypeError(f"{type(self).__name__} needs {self.Params.__name__}, got {type(params).__name__}")
        self.params = params

    @classmethod
    def from_config(cls, section: Mapping[str, object], **context: Any) -> Rule:
        """The rule from its validated configuration section (``validate_config`` output); lists become tuples."""
        values = {key: tuple(value) if isinstance(value, list) else value for key, value in section.items()}
        values.pop("enabled", None)
        return cls(cls.Params(**values))

    def check(self, candidate: CandidateText) -> Verdict | None:
        """The verdict for one candidate on its own (``evaluate`` shares the tokenisation across rules instead)."""
        return self.inspect(FactsBuilder()(candidate))

    @abstractmethod
    def inspect(self, facts: Facts) -> Verdict | None:
        """The verdict for a candidate's precomputed ``Facts``: ``None`` to keep it."""

    def verdict(self, score: float, reason: str, **extra: object) -> Verdict:
        return Verdict(rule=self.name, score=round(min(1.0, max(0.0, score)), 4), reason=reason, extra=extra)

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={getattr(self.params, f.name)!r}" for f in dataclasses.fields(self.params))
        return f"{type(self).__name__}({fields})"


def quoted(text: str, limit: int = 60) -> str:
    """A text for a reason sentence: double-quoted, shortened to ``limit`` characters."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f'"{text}"'
