"""The account pages: your API tokens (thin: the API's input serializer, core/tokens.py's services, a template).

A new key is shown once, in the answer to the POST that creates it; it is never stored, so it cannot be shown
again (the list shows names, prefixes and expiries)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.api.tokens import TokenOptionsSerializer
from core.roles import ALL_ROLES, user_has_role
from core.tokens import api_token_create, api_token_list, api_token_revoke


def _require_a_role(request: HttpRequest) -> None:
    if not user_has_role(request.user, *ALL_ROLES):  # a person's role (a serving client has no pages)
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """List your tokens; POST creates one and shows its key, this once."""
    _require_a_role(request)
    context: dict[str, object] = {"errors": {}, "new_key": None}
    status = 200
    if request.method == "POST":
        serializer = TokenOptionsSerializer(
            data={"name": request.POST.get("name", ""), "expires_in_days": request.POST.get("expires_in_days") or None}
        )
        if serializer.is_valid():
            token, key = api_token_create(
                user=request.user,
                name=serializer.validated_data["name"],
                expires_in_days=serializer.validated_data["expires_in_days"],
            )
            context["new_key"], context["new_token"] = key, token
        else:
            context["errors"] = {field: " ".join(map(str, messages)) for field, messages in serializer.errors.items()}
            status = 400
    context["tokens"] = list(api_token_list(user=request.user))
    response = render(request, "core/tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the page may hold a key
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    _require_a_role(request)
    api_token_revoke(user=request.user, token_id=token_id)
    return redirect("account-tokens")
