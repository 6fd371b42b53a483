"""``python manage.py create_user NAME --role annotator|curator|admin``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from core.roles import Role
from knowledge.services import user_create


class Command(BaseCommand):
    help = "Create a user with one role; prints the password (generated unless --password is given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[role.value for role in Role])
        parser.add_argument("--password", default=None, help="Default: a random password, printed once.")
        parser.add_argument("--email", default="")
        parser.add_argument("--reset", action="store_true", help="Update the user if it exists.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, password = user_create(
                username=options["username"],
                role=Role(options["role"]),
                password=options["password"],
                email=options["email"],
                reset_existing=options["reset"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{user.get_username()} ({options['role']}) password: {password}")
