"""The vendored browser libraries under static/vendor/ are the pinned releases: their checksums match the
SHA256SUMS that scripts/vendor_static.sh wrote, and their versions match package-lock.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "static" / "vendor"


def test_vendored_files_match_their_checksums() -> None:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    assert lines, "SHA256SUMS is empty"
    listed = set()
    for line in lines:
        digest, name = line.split(maxsplit=1)
        path = VENDOR / name
        listed.add(path.resolve())
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{name} differs from the vendored release"
    present = {p.resolve() for p in VENDOR.rglob("*") if p.is_file() and p.name != "SHA256SUMS"}
    assert present == listed, f"files not in SHA256SUMS: {sorted(map(str, present - listed))}"


def test_vendored_versions_are_the_locked_ones() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    vendored = json.loads((VENDOR / "VERSIONS.json").read_text())
    assert vendored == {name: lock[f"node_modules/{name}"]["version"] for name in vendored}
    assert vendored == pinned
