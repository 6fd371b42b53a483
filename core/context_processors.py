"""Template context: the signed-in user's roles, so templates show only the links the user may follow."""

from __future__ import annotations

from typing import Any

from core.roles import user_roles


def roles(request: Any) -> dict[str, Any]:
    names = user_roles(getattr(request, "user", None))
    return {
        "user_roles": sorted(names),
        "is_annotator": "annotator" in names,
        "is_curator": "curator" in names,
        "is_admin_role": "admin" in names,
    }
