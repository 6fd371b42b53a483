"""COSMO-LM's instruction examples as plain data: reading the instruction export, grouping generation records, the
held-out split by behaviour, and the prompt text a model reads. Standard library only.

The records are those of ``export_graph --format instructions`` (``task``, ``instruction``, ``input``, ``output``,
``split``, ``candidate``; records read from the platform also carry ``head_key``, ``relation`` and ``tail``).
Generation records of one behaviour and relation are grouped into one example whose answer lists their tails
joined by ``TAIL_SEPARATOR`` (behaviour + relation -> tails); judgement records stay one example each, answered
``yes`` or ``no``.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("generate", "plausibility", "typicality")
JUDGEMENT_TASKS = ("plausibility", "typicality")
TAIL_SEPARATOR = " | "
YES, NO = "yes", "no"
JUDGEMENT_INSTRUCTIONS = {
    "plausibility": "Is this a plausible reason for the behaviour? Answer yes or no.",
    "typicality": "Is this a typical reason for the behaviour? Answer yes or no.",
}


def generation_instruction(relation: str) -> str:
    """The generation instruction of the export (kept identical, so exported files and live data train alike)."""
    return f"Explain the shopping behaviour with the relation {relation}: answer with a short phrase."


def judgement_input(behaviour: str, relation: str, tail: str) -> str:
    """The judgement input of the export: the behaviour sentence, then the reason."""
    return f"{behaviour} Reason ({relation}): {tail}"


@dataclass(frozen=True)
class LMExample:
    """One training or evaluation example. ``group`` is the behaviour (``pair:<id>`` or ``head:<text>``) that
    decides its split; ``tails`` are the curated tails of a generation example (its answer, as a list)."""

    task: str
    instruction: str
    input: str
    output: str
    group: str = ""
    relation: str = ""
    tails: tuple[str, ...] = ()
    candidates: tuple[int, ...] = ()

    @property
    def label(self) -> int | None:
        """1 for a ``yes`` judgement, 0 for ``no``, None for a generation example."""
        if self.task not in JUDGEMENT_TASKS:
            return None
        return 1 if self.output.strip().lower() == YES else 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tails"], data["candidates"] = list(self.tails), list(self.candidates)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LMExample:
        return cls(
            task=data["task"],
            instruction=data["instruction"],
            input=data["input"],
            output=data["output"],
            group=data.get("group", ""),
            relation=data.get("relation", ""),
            tails=tuple(data.get("tails", ())),
            candidates=tuple(data.get("candidates", ())),
        )


def held_out(group: str, *, share: float, seed: int = 0) -> bool:
    """Whether a behaviour is in the held-out split: a hash of the behaviour and the seed, so every example of
    one behaviour falls on the same side (no head is on both sides) and the split is the same in every run."""
    digest = hashlib.sha1(f"{seed}:{group}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def _group_of(record: dict[str, Any]) -> str:
    """The behaviour of a record: its ``head_key`` when the platform gave it, else its input's behaviour sentence
    (an exported file has no key; the sentence before " Reason (" is the behaviour)."""
    if record.get("head_key"):
        return str(record["head_key"])
    text = str(record.get("input", ""))
    return "text:" + text.split(" Reason (", 1)[0].strip()


def _relation_of(record: dict[str, Any]) -> str:
    if record.get("relation"):
        return str(record["relation"])
    instruction = str(record.get("instruction", ""))
    marker = "with the relation "
    if marker in instruction:
        return instruction.split(marker, 1)[1].split(":", 1)[0].strip()
    text = str(record.get("input", ""))
    if " Reason (" in text:
        return text.split(" Reason (", 1)[1].split(")", 1)[0]
    return ""


def examples_from_records(records: Iterable[dict[str, Any]], *, max_tails: int = 5) -> list[LMExample]:
    """Instruction records to examples: judgements one each; generation records grouped by (behaviour, relation)
    into examples of at most ``max_tails`` tails each (sorted, so the same graph gives the same examples)."""
    generate: OrderedDict[tuple[str, str, str, str], list[tuple[str, int]]] = OrderedDict()
    out: list[LMExample] = []
    for record in records:
        task = record.get("task")
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r} (tasks: {', '.join(TASKS)})")
        group, relation = _group_of(record), _relation_of(record)
        if task == "generate":
            key = (group, relation, str(record["instruction"]), str(record["input"]))
            generate.setdefault(key, []).append((str(record["output"]).strip(), int(record.get("candidate") or 0)))
            continue
        output = str(record["output"]).strip().lower()
        if output not in (YES, NO):
            raise ValueError(f"a {task} record must answer yes or no, not {record['output']!r}")
        out.append(
            LMExample(
                task=str(task),
                instruction=str(record["instruction"]),
                input=str(record["input"]),
                output=output,
                group=group,
                relation=relation,
                candidates=(int(record.get("candidate") or 0),),
            )
        )
    generated: list[LMExample] = []
    for (group, relation, instruction, text), rows in generate.items():
        unique = sorted({tail: candidate for tail, candidate in rows if tail}.items())
        for start in range(0, len(unique), max_tails):
            part = unique[start : start + max_tails]
            tails = tuple(tail for tail, _ in part)
            generated.append(
                LMExample(
                    task="generate",
                    instruction=instruction,
                    input=text,
                    output=TAIL_SEPARATOR.join(tails),
                    group=group,
                    relation=relation,
                    tails=tuple(tail for tail, _ in unique),  # every curated tail of the behaviour and relation
                    candidates=tuple(candidate for _, candidate in part),
                )
            )
    return generated + out


@dataclass
class Split:
    train: list[LMExample] = field(default_factory=list)
    held_out: list[LMExample] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name, rows in (("train", self.train), ("held_out", self.held_out)):
            counts = {task: 0 for task in TASKS}
            for row in rows:
                counts[row.task] += 1
            counts["groups"] = len({row.group for row in rows})
            out[name] = counts
        return out


def split_examples(examples: Sequence[LMExample], *, share: float = 0.2, seed: int = 0) -> Split:
    """Train and held-out examples, by behaviour (``held_out``)."""
    split = Split()
    for example in examples:
        (split.held_out if held_out(example.group, share=share, seed=seed) else split.train).append(example)
    return split


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSON Lines file (an instruction export, or a run's snapshot); a bad line raises ``ValueError``
    naming it."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"line {number}: not JSON ({error.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"line {number}: not a JSON object")
            yield record


def write_examples(path: Path, examples: Iterable[LMExample], *, split: str) -> int:
    count = 0
    with Path(path).open("a", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps({**example.as_dict(), "split": split}, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_examples(path: Path) -> Split:
    """A snapshot written by ``write_examples`` back into its two sides."""
    split = Split()
    for record in read_jsonl(path):
        (split.held_out if record.get("split") == "held_out" else split.train).append(LMExample.from_dict(record))
    return split


def prompt_text(tokenizer: Any, instruction: str, text: str) -> str:
    """What the model reads before its answer: the tokenizer's chat template when it has one (instruction-tuned
    bases answer best in their own format), else a plain instruction block. Ends where the answer starts."""
    message = f"{instruction}\n{text}"
    if getattr(tokenizer, "chat_template", None):
        rendered: str = tokenizer.apply_chat_template(
            [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True
        )
        return rendered
    return f"### Instruction: {instruction}\n### Input: {text}\n### Answer:\n"


def split_tails(text: str) -> list[str]:
    """A generated answer's tails: split on the separator (or lines), trimmed, de-duplicated, in order."""
    parts = text.replace("\n", TAIL_SEPARATOR.strip()).split(TAIL_SEPARATOR.strip())
    seen: dict[str, None] = {}
    for part in parts:
        tail = " ".join(part.split()).strip(" .;,:\"'")
        if tail and tail.casefold() not in {s.casefold() for s in seen}:
            seen[tail] = None
    return list(seen)
