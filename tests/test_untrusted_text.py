"""LLM text is untrusted: checks without a browser that back ``tests/e2e/test_payloads.py``.

Every HTML page of the URLconf is either visited with payloads by that browser test or listed there as showing no
candidate text (a URL added without either fails here); templates never mark text safe and build links only with
``{% url %}`` or ``{% static %}``; scripts write text with ``textContent``, never as HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from tests.e2e.test_payloads import NO_CANDIDATE_TEXT, PAGES

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "config",
    "core",
    "knowledge",
    "filtering",
    "annotation",
    "classifiers",
    "curation",
    "generation",
    "pipeline",
    "demo",
)


def _json_only(callback: Any) -> bool:
    """A DRF view that can only answer JSON (no browsable API, no template): it never renders HTML."""
    view = getattr(callback, "cls", None)
    return (
        isinstance(view, type)
        and issubclass(view, APIView)
        and all(issubclass(renderer, JSONRenderer) for renderer in view.renderer_classes)
    )


def _page_names(patterns: Any) -> Iterator[str]:
    """Names of the URLs that may answer HTML, outside the Django admin (the browser test visits every model
    registered there)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name != "admin":
                yield from _page_names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name and not _json_only(pattern.callback):
            yield pattern.name


def test_every_html_page_is_visited_with_payloads_or_listed_as_showing_no_candidate_text() -> None:
    names = set(_page_names(get_resolver().url_patterns))
    assert set(PAGES).isdisjoint(NO_CANDIDATE_TEXT)
    assert names - set(PAGES) - set(NO_CANDIDATE_TEXT) == set(), (
        "a new page: visit it with payloads in tests/e2e/test_payloads.py (PAGES), or say in NO_CANDIDATE_TEXT "
        "why it shows no candidate text"
    )
    assert set(PAGES) | set(NO_CANDIDATE_TEXT) <= names, "PAGES or NO_CANDIDATE_TEXT names a URL that is gone"


def _files(folder: str, suffix: str) -> list[Path]:
    found = sorted((ROOT / folder).rglob(f"*{suffix}"))
    assert found, f"no {suffix} files under {folder}/"
    return found


def test_templates_never_mark_text_safe_and_build_links_only_with_url_or_static() -> None:
    unsafe = re.compile(r"\|\s*safe(seq)?\b|{%\s*autoescape\s+off")
    link = re.compile(r"""\b(?:href|src|action|formaction|srcset|poster)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.I)
    problems = []
    for path in _files("templates", ".html"):
        text = path.read_text()
        problems += [f"{path.relative_to(ROOT)}: {match.group()}" for match in unsafe.finditer(text)]
        for match in link.finditer(text):
            value = match.group(1).strip("\"'")
            if not (value.startswith(("{% url ", "{% static ", "#")) or re.fullmatch(r"/[\w/.-]*", value)):
                problems.append(f"{path.relative_to(ROOT)}: a link made from data: {match.group()}")
    assert problems == []


def test_python_code_never_marks_text_safe() -> None:
    unsafe = re.compile(r"\bmark_safe\b|\bSafeString\b|\bSafeData\b|\bautoescape\s*=\s*False")
    problems = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for package in PACKAGES
        for path in _files(package, ".py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if unsafe.search(line)
    ]
    assert problems == []


def test_scripts_write_text_with_text_content_never_as_html_or_links() -> None:
    html_sinks = re.compile(
        r"\.(?:innerHTML|outerHTML|srcdoc)\s*=|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\s*\("
        r"|createContextualFragment|\.(?:href|src|action)\s*=|setAttribute\(\s*[\"'](?:on\w+|href|src|action)[\"']"
    )
    problems = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _files("static/js", ".js")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if html_sinks.search(line)
    ]
    assert problems == []
