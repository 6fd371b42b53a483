"""``python manage.py import_peer FILE... --source labelstudio|argilla [mapping options]``: bring a team's history
from Label Studio or Argilla / Hugging Face into Plausi as candidates with their labels (docs/formats.md, "Imports
from Label Studio and Argilla"). All files or nothing; a bad record is refused naming the record and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from curation import peers
from curation.services import peer_import_claim, peer_import_create, peer_import_execute


def mapping_arguments(parser: CommandParser) -> None:
    defaults = peers.PeerMapping()
    parser.add_argument("--kind", choices=["plain", "search_buy"], default=defaults.kind)
    for name in (
        "head_field",
        "query_field",
        "product_field",
        "product_title_field",
        "relation_field",
        "tail_field",
        "label_field",
    ):
        parser.add_argument(f"--{name.replace('_', '-')}", default=getattr(defaults, name))
    parser.add_argument("--relation", default="", help="The relation slug of every record without a relation field.")
    parser.add_argument("--from-name", default="", help="Label Studio: only the choices of this control.")
    parser.add_argument("--question", default=defaults.question, help="The Plausi question the yes/no answers.")
    parser.add_argument("--yes", action="append", help="A value meaning yes (repeatable; replaces the defaults).")
    parser.add_argument("--no", action="append", help="A value meaning no (repeatable; replaces the defaults).")


def mapping_of(options: dict[str, Any]) -> peers.PeerMapping:
    defaults = peers.PeerMapping()
    return peers.PeerMapping(
        kind=options["kind"],
        head_field=options["head_field"],
        query_field=options["query_field"],
        product_field=options["product_field"],
        product_title_field=options["product_title_field"],
        relation_field=options["relation_field"],
        relation=options["relation"],
        tail_field=options["tail_field"],
        label_field=options["label_field"],
        from_name=options["from_name"],
        question=options["question"],
        yes=tuple(options["yes"] or defaults.yes),
        no=tuple(options["no"] or defaults.no),
    )


class Command(BaseCommand):
    help = "Import a Label Studio JSON export or an Argilla / Hugging Face yes/no dataset as labelled candidates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--source", choices=peers.SOURCES, required=True)
        mapping_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; import nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = peer_import_create(
                files=[(path.resolve(), path.name) for path in options["files"]],
                source=options["source"],
                mapping=mapping_of(options),
                dry_run=options["dry_run"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        peer_import_claim(run_id=created.run.pk)
        run = peer_import_execute(run_id=created.run.pk)
        self.stdout.write(
            f"import (ingest #{run.pk}): {run.status}. {created.records} record(s), {created.labelled} with a "
            f"label. {run.message}"
        )
        for error in run.errors:
            self.stdout.write(f"    {error['file']} record {error['line']}, {error['field']}: {error['message']}")
        if run.status != "succeeded":
            raise CommandError(f"import (ingest #{run.pk}) failed: {run.message}")
