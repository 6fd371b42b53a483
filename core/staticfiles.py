"""The production static files storage: WhiteNoise's hashed and compressed names (config/settings/production.py).

A vendored library may name a source map that is not shipped (chart.js's ``//# sourceMappingURL=...map``):
Django's manifest storage refuses to collect such a file. A source map is only a debugging aid that a browser
fetches with its developer tools open, so a reference to a missing one is left as it is; any other missing
reference (a stylesheet's ``url(...)``, an ``import``) still fails ``collectstatic``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


class CompressedManifestStorage(CompressedManifestStaticFilesStorage):
    def url_converter(self, name: str, hashed_files: dict[str, Any], template: str | None = None) -> Callable:
        convert = super().url_converter(name, hashed_files, template)

        def converter(matchobj: Any) -> str:
            try:
                return convert(matchobj)
            except ValueError:
                if "sourceMappingURL" in matchobj.group(0):
                    return matchobj.group(0)
                raise

        return converter
