"""One limit on password guessing, shared by every way to present a password: the login page, the admin's login
and the API token endpoint all call Django's ``authenticate()``, whose backend here (``GuardedModelBackend``) checks
and counts failures before and after checking the password.

Three counters, each in a window of ``LOGIN_FAILURE_WINDOW_SECONDS`` from its first failure:

* **username and address together**: after ``LOGIN_MAX_FAILURES`` failures for one username from one client
  address, that address waits out the window for that username. A stranger elsewhere cannot lock the real user out.
* **address**: after ``LOGIN_MAX_FAILURES_PER_ADDRESS`` failures from one address for any usernames, that address
  waits out the window (password spraying).
* **username, from anywhere**: after ``LOGIN_FREE_FAILURES_PER_USERNAME`` failures, each further attempt must come
  a growing delay (1 s, 2 s, 4 s, ..., at most ``LOGIN_MAX_DELAY_SECONDS``) after the last failure. Guessing from many
  addresses is slowed to a crawl, while the real user waits at most that delay, never a lock-out.

Usernames are keyed as the login form reads them (Unicode NFKC, then casefolded), so a look-alike spelling counts
against the same username. The address is the real client's (``core.client.client_address``: ``REMOTE_ADDR``, or
the entry that the trusted proxies appended to ``X-Forwarded-For``). A refused attempt does not check the password
and answers 429 with ``Retry-After``, whether or not the request carries other credentials. The counters live in
the shared cache (Redis in production); a cache that is down lets attempts through (logged), so that annotators
can still log in during a Redis outage.
"""

from __future__ import annotations

import hashlib
import math
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from core.cache import cache_count, cache_delete, cache_get_many, cache_set
from core.client import client_address

REFUSAL_ATTRIBUTE = "plausi_password_refusal"


@dataclass(frozen=True)
class PasswordRefusal:
    """Why an attempt was refused without checking its password, and when the client may try again."""

    reason: str
    retry_after_seconds: int


def username_key(username: str) -> str:
    """The username as one counter sees it: NFKC (as Django's login form normalises it), casefolded."""
    return unicodedata.normalize("NFKC", str(username)).strip().casefold()[:150]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _keys(*, username: str, address: str) -> dict[str, str]:
    user = _digest(username_key(username))
    return {
        "pair": f"pw-fail:pair:{user}:{address}",
        "address": f"pw-fail:addr:{address}",
        "user": f"pw-fail:user:{user}",
        "user_last": f"pw-fail:user-last:{user}",
    }


def username_delay_seconds(failures: int) -> float:
    """The pause a username's failures impose on the next attempt from anywhere (0 while under the free count)."""
    excess = failures - settings.LOGIN_FREE_FAILURES_PER_USERNAME
    if excess < 0:
        return 0.0
    return float(min(2**excess, settings.LOGIN_MAX_DELAY_SECONDS))


def password_attempt_refusal(*, username: str, address: str) -> PasswordRefusal | None:
    """Whether an attempt for ``username`` from ``address`` is refused now (one cache round trip)."""
    keys = _keys(username=username, address=address)
    values = cache_get_many(list(keys.values()))
    window = int(settings.LOGIN_FAILURE_WINDOW_SECONDS)
    if int(values.get(keys["pair"], 0) or 0) >= settings.LOGIN_MAX_FAILURES:
        return PasswordRefusal("too many failures for this username from this address", window)
    if int(values.get(keys["address"], 0) or 0) >= settings.LOGIN_MAX_FAILURES_PER_ADDRESS:
        return PasswordRefusal("too many failures from this address", window)
    delay = username_delay_seconds(int(values.get(keys["user"], 0) or 0))
    if delay > 0:
        waited = time.time() - float(values.get(keys["user_last"], 0.0) or 0.0)
        if waited < delay:
            return PasswordRefusal("too many recent failures for this username", math.ceil(delay - waited))
    return None


def password_failure_record(*, username: str, address: str) -> None:
    keys = _keys(username=username, address=address)
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for name in ("pair", "address", "user"):
        cache_count(keys[name], window)
    cache_set(keys["user_last"], time.time(), window)


def password_success_record(*, username: str, address: str) -> None:
    """The right password from this address clears its own username-and-address count (nothing else: an attacker's
    own account must not reset an address's or another username's count)."""
    cache_delete(_keys(username=username, address=address)["pair"])


def password_refusal_of(request: Any) -> PasswordRefusal | None:
    """The refusal that ``GuardedModelBackend`` noted on this request, if its last attempt was refused."""
    return getattr(request, REFUSAL_ATTRIBUTE, None)


class GuardedModelBackend(ModelBackend):
    """Django's model backend behind the shared failure counters (module docstring). A refused attempt raises
    ``PermissionDenied``, which ``authenticate()`` turns into a failed login without trying another backend, and
    notes the refusal on the request for the view to answer 429."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if username is None:
            username = kwargs.get(self._username_field())
        if request is None or username is None or password is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        address = client_address(request)
        refusal = password_attempt_refusal(username=username, address=address)
        if refusal is not None:
            setattr(request, REFUSAL_ATTRIBUTE, refusal)
            raise PermissionDenied(refusal.reason)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            password_failure_record(username=username, address=address)
        else:
            password_success_record(username=username, address=address)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return str(get_user_model().USERNAME_FIELD)


def _too_many(response: HttpResponse, refusal: PasswordRefusal) -> HttpResponse:
    response.status_code = 429
    response["Retry-After"] = str(refusal.retry_after_seconds)
    return response


class RateLimitedLoginView(auth_views.LoginView):
    """The login page; a refused attempt shows the form again with 429 and says to wait."""

    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        refusal = password_refusal_of(self.request)
        if refusal is None:
            return super().form_invalid(form)
        response = self.render_to_response(self.get_context_data(form=form, rate_limited=True))
        return _too_many(response, refusal)


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The Django admin's login behind the same counters: a refused attempt answers 429."""
    response = admin.site.login(request, extra_context)
    refusal = password_refusal_of(request)
    return _too_many(response, refusal) if refusal is not None else response
