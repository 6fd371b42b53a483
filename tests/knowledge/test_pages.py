"""HTML pages and the user command (the health checks: tests/core/test_health.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from core.roles import user_roles
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_the_login_page() -> None:
    for url in (reverse("home"), reverse("ingest-runs")):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_login_and_logout_work_with_the_forms() -> None:
    UserFactory(username="ann", role="annotator")
    client = Client()
    response = client.post(reverse("login"), {"username": "ann", "password": TEST_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert "annotator" in client.get(reverse("home")).content.decode()
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_the_ingest_runs_page_is_for_admins_only() -> None:
    client = Client()
    client.force_login(UserFactory(role="curator"))
    assert client.get(reverse("ingest-runs")).status_code == 403
    client.force_login(UserFactory(role="admin"))
    assert client.get(reverse("ingest-runs")).status_code == 200


def test_the_create_user_command_gives_exactly_one_role(capsys: Any) -> None:
    call_command("create_user", "cur", "--role", "curator", "--password", "s3cret-enough-pass")
    user = get_user_model().objects.get(username="cur")
    assert user_roles(user) == {"curator"} and not user.is_staff
    assert user.check_password("s3cret-enough-pass")
    call_command("create_user", "cur", "--role", "admin", "--reset")
    user.refresh_from_db()
    user._plausi_roles = None
    assert user_roles(user) == {"admin"} and user.is_staff
    assert "cur (admin) password: " in capsys.readouterr().out
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_user", "cur", "--role", "annotator")


def test_the_login_page_slows_password_guessing(client: Any, settings: Any) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.LOGIN_MAX_FAILURES = 3
    user = UserFactory(role="annotator", username="guessme")
    for _ in range(3):
        response = client.post("/login/", {"username": "guessme", "password": "wrong"})
        assert response.status_code == 200  # the form again, with an error
    blocked = client.post("/login/", {"username": "guessme", "password": TEST_PASSWORD})
    assert blocked.status_code == 429 and b"Too many failed sign-ins" in blocked.content
    cache.clear()  # the window passed
    assert client.post("/login/", {"username": user.username, "password": TEST_PASSWORD}).status_code == 302


def test_a_cache_that_is_down_is_a_miss_not_an_error(client: Any, settings: Any) -> None:
    """Production's cache is Redis; pages and the login limit keep working (failing open) when it is down."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    from django.core.cache import cache

    with pytest.raises(Exception):  # whatever the Redis client raises: it is down
        cache.get("anything")
    user = UserFactory(role="curator", username="cachedown")
    response = client.post("/login/", {"username": "cachedown", "password": TEST_PASSWORD})
    assert response.status_code == 302
    client.force_login(user)
    assert client.get("/").status_code == 200
    assert client.get("/annotation/agreement/").status_code == 200
