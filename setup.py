"""Build step that pyproject.toml cannot say: the wheel carries the top-level templates/ and static/ folders inside
the config package (config/templates, config/static), where config/settings/base.py looks for them first. A
checkout (and an editable install) uses the folders where they are; nothing is moved."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SITE_FOLDERS = ("templates", "static")


class BuildPyWithSiteFolders(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in SITE_FOLDERS:
            target = Path(self.build_lib) / "config" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / name, target)


setup(cmdclass={"build_py": BuildPyWithSiteFolders})
