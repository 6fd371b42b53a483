"""Validators shared by the API's input serializers."""

from __future__ import annotations

import os
from typing import Any

from rest_framework import serializers

from core.model_paths import MAX_PATH_LENGTH, model_folder_problem, model_root


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


class ModelFolderField(serializers.CharField):
    """A local model folder: under ``PLAUSI_MODEL_ROOT``, resolved (no ``..`` or symlink out of it), holding
    safetensors weights (``core.model_paths``). Validates to the folder's real absolute path."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_PATH_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if problem := model_folder_problem(value):
            raise serializers.ValidationError(f"{value!r} {problem}.")
        return os.path.realpath(model_root() / value)
