"""Validators shared by the API's input serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


def no_null_characters(value: Any) -> None:
    """Refuse U+0000 anywhere in a JSON value (keys included): PostgreSQL cannot store it in ``jsonb`` or text,
    so it would fail the INSERT rather than the request. DRF's ``CharField`` checks its own strings already;
    a ``JSONField`` or ``DictField`` does not."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise serializers.ValidationError("Null characters are not allowed.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
