"""API tokens done right (issue 17), over HTTP against a running server: only a digest is stored, a user holds
several named tokens with an expiry, a key is shown once, and a password change or a deactivation revokes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from core.models import ApiToken
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def exchange(base: str, username: str, **options: Any) -> Any:
    return requests.post(
        f"{base}/api/auth/token/", json={"username": username, "password": TEST_PASSWORD, **options}, timeout=10
    )


def me(base: str, key: str) -> int:
    return requests.get(f"{base}/api/me/", headers={"Authorization": f"Token {key}"}, timeout=10).status_code


def test_keys_are_stored_only_as_digests_and_not_even_an_admin_can_read_them(live_server: Any) -> None:
    UserFactory(role="annotator", username="ann")
    key = exchange(live_server.url, "ann").json()["token"]
    assert me(live_server.url, key) == 200
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        assert "authtoken_token" not in tables
        for table in tables:  # no column of any table holds the key
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (introspected names)
            assert not any(key in str(value) for row in cursor.fetchall() for value in row), table
    admin = requests.Session()
    admin.get(f"{live_server.url}/login/", timeout=10)
    UserFactory(role="admin", username="root")
    admin.post(
        f"{live_server.url}/login/",
        data={"username": "root", "password": TEST_PASSWORD, "csrfmiddlewaretoken": admin.cookies["csrftoken"]},
        timeout=10,
    )
    token = ApiToken.objects.get()
    for page in ("/admin/core/apitoken/", f"/admin/core/apitoken/{token.pk}/change/"):
        answer = admin.get(f"{live_server.url}{page}", timeout=10)
        assert answer.status_code == 200 and token.prefix in answer.text and key not in answer.text, page
    assert admin.get(f"{live_server.url}/admin/authtoken/", timeout=10).status_code == 404


def test_a_user_holds_several_named_tokens_each_shown_once_each_with_an_expiry(live_server: Any) -> None:
    UserFactory(role="curator", username="cur")
    ci = exchange(live_server.url, "cur", name="ci", expires_in_days=7).json()
    assert ci["name"] == "ci"
    expires = dt.datetime.fromisoformat(ci["expires_at"])
    assert dt.timedelta(days=6, hours=23) < expires - timezone.now() <= dt.timedelta(days=7)
    auth = {"Authorization": f"Token {ci['token']}"}
    script = requests.post(
        f"{live_server.url}/api/auth/tokens/", json={"name": "nightly script"}, headers=auth, timeout=10
    )
    assert script.status_code == 201 and len(script.json()["token"]) == 40
    listed = requests.get(f"{live_server.url}/api/auth/tokens/", headers=auth, timeout=10).json()
    assert sorted(item["name"] for item in listed) == ["ci", "nightly script"]
    assert all("token" not in item for item in listed)  # never shown again
    assert me(live_server.url, script.json()["token"]) == 200
    # revoking one leaves the other working
    gone = requests.delete(f"{live_server.url}/api/auth/tokens/{script.json()['id']}/", headers=auth, timeout=10)
    assert gone.status_code == 204
    assert me(live_server.url, script.json()["token"]) == 401 and me(live_server.url, ci["token"]) == 200
    # an expired token stops working
    ApiToken.objects.filter(id=ci["id"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert me(live_server.url, ci["token"]) == 401
    # bounds are checked, with the field named
    too_long = exchange(live_server.url, "cur", expires_in_days=100000)
    assert too_long.status_code == 400 and "expires_in_days" in too_long.json()


def test_a_password_change_revokes_every_token(live_server: Any) -> None:
    UserFactory(role="annotator", username="ann")
    keys = [exchange(live_server.url, "ann", name=f"t{n}").json()["token"] for n in range(2)]
    assert [me(live_server.url, key) for key in keys] == [200, 200]
    call_command("create_user", "ann", "--role", "annotator", "--reset")  # the documented password reset
    assert [me(live_server.url, key) for key in keys] == [401, 401]
    assert not ApiToken.objects.exists()


def test_deactivating_an_account_revokes_its_tokens_for_good(live_server: Any) -> None:
    user = UserFactory(role="annotator", username="leaver")
    key = exchange(live_server.url, "leaver").json()["token"]
    user.is_active = False
    user.save()
    user.is_active = True  # reactivated later: the old key stays dead
    user.save()
    assert me(live_server.url, key) == 401


def test_a_login_does_not_revoke_tokens(live_server: Any) -> None:
    UserFactory(role="annotator", username="ann")
    key = exchange(live_server.url, "ann").json()["token"]
    session = requests.Session()
    session.get(f"{live_server.url}/login/", timeout=10)
    session.post(
        f"{live_server.url}/login/",
        data={"username": "ann", "password": TEST_PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=10,
    )
    assert "sessionid" in session.cookies and me(live_server.url, key) == 200


def test_create_user_applies_the_password_validators() -> None:
    with pytest.raises(CommandError, match=r"too common|too short|entirely numeric"):
        call_command("create_user", "weak", "--role", "annotator", "--password", "password")
    with pytest.raises(CommandError, match="too similar"):
        call_command("create_user", "longusername", "--role", "annotator", "--password", "longusername1")
    call_command("create_user", "strong", "--role", "annotator", "--password", "plum-harbour-velvet-92")


def test_the_tokens_page_shows_a_new_key_once_and_revokes(live_server: Any) -> None:
    UserFactory(role="annotator", username="ann")
    browser = requests.Session()
    browser.get(f"{live_server.url}/login/", timeout=10)
    browser.post(
        f"{live_server.url}/login/",
        data={"username": "ann", "password": TEST_PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        timeout=10,
    )
    page = f"{live_server.url}/account/tokens/"
    csrf = {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    bad = browser.post(page, data={**csrf, "name": "ci", "expires_in_days": "0"}, timeout=10)
    assert bad.status_code == 400 and "greater than or equal to 1" in bad.text and not ApiToken.objects.exists()
    created = browser.post(page, data={**csrf, "name": "<b>ci</b>", "expires_in_days": "30"}, timeout=10)
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    token = ApiToken.objects.get()
    key = created.text.split('id="new-token-key">', 1)[1].split("<", 1)[0]
    assert len(key) == 40 and me(live_server.url, key) == 200
    assert "&lt;b&gt;ci&lt;/b&gt;" in created.text and "<b>ci</b>" not in created.text  # a name is text
    again = browser.get(page, timeout=10)
    assert token.prefix in again.text and key not in again.text  # never shown again
    browser.post(f"{page}{token.pk}/revoke/", data=csrf, timeout=10)
    assert me(live_server.url, key) == 401 and not ApiToken.objects.exists()
