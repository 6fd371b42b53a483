"""``plausi``: the installed product's command line, Django's management commands with Plausi's settings default
(``plausi start``, ``plausi migrate``, ``plausi create_user`` ...; ``plausi help`` lists them). As manage.py,
it uses the production settings unless DJANGO_SETTINGS_MODULE says otherwise, except ``plausi demo``, which
defaults to the embedded demo's settings (config.settings.local): the demo is what they are for.
"""

import os
import sys

DEMO_COMMAND = "demo"


def main(argv: list[str] | None = None) -> None:
    from config.celery import SETTINGS_FROM_ENVIRONMENT  # importing config has set production's default

    argv = list(sys.argv if argv is None else argv)
    if argv[1:2] == [DEMO_COMMAND] and not SETTINGS_FROM_ENVIRONMENT:
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    from django.core.management import execute_from_command_line

    argv[0] = "plausi"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
