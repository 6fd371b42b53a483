"""The login page with a limit on failed attempts: after ``LOGIN_MAX_FAILURES`` failures within
``LOGIN_FAILURE_WINDOW_SECONDS`` for one username or from one address, further attempts get 429 until the
window passes (password guessing is slowed to a crawl; a person who mistyped waits minutes, not forever)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from core.cache import cache_count, cache_get


def _keys(request: HttpRequest) -> list[str]:
    username = str(request.POST.get("username", "")).strip().casefold()[:150]
    address = request.META.get("REMOTE_ADDR", "")
    return [f"login-failures:user:{username}", f"login-failures:addr:{address}"]


def _limited(request: HttpRequest) -> bool:
    limit = settings.LOGIN_MAX_FAILURES
    return any(int(cache_get(key, 0) or 0) >= limit for key in _keys(request))  # fails open if the cache is down


class RateLimitedLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _limited(request):  # the password is not even checked
            form = self.form_class(request=request, initial={"username": request.POST.get("username", "")})
            return self.render_to_response(self.get_context_data(form=form, rate_limited=True), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        for key in _keys(self.request):
            cache_count(key, settings.LOGIN_FAILURE_WINDOW_SECONDS)
        return super().form_invalid(form)
