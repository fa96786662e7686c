"""Language: the switch, the saved preference, and the browser's Accept-Language."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from guanxi.accounts.models import User
from guanxi.accounts.services import user_language_set
from tests.accounts.conftest import db_state, password_login
from tests.conftest import Org, login_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

COOKIE = settings.LANGUAGE_COOKIE_NAME


def test_switch_sets_the_cookie_and_saves_the_preference(org: Org) -> None:
    # given rep1 signed in, with no saved language
    client = login_client(org.rep)
    # when they pick English
    response = client.post("/accounts/language/", {"language": "en", "next": "/accounts/profile/"})
    # then the cookie is set, they go back where they were, and the choice is saved
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    assert response.cookies[COOKIE].value == "en"
    assert User.objects.get(pk=org.rep.pk).language == "en"
    # and the next page is in English even though the browser prefers Chinese
    page = client.get("/accounts/profile/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert page["Content-Language"] == "en"


def test_switch_works_for_anonymous_visitors_with_a_cookie_only(db: None) -> None:
    client = Client()
    response = client.post("/accounts/language/", {"language": "en", "next": "/accounts/login/"})
    assert response.cookies[COOKIE].value == "en"
    assert client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN")["Content-Language"] == "en"


def test_switch_refuses_an_unknown_language_and_changes_nothing(org: Org) -> None:
    client = login_client(org.rep)
    before = db_state()
    response = client.post("/accounts/language/", {"language": "fr"})
    assert response.status_code == 302
    assert COOKIE not in response.cookies
    assert db_state() == before


def test_switch_ignores_an_offsite_next(org: Org) -> None:
    response = login_client(org.rep).post(
        "/accounts/language/", {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_service_refuses_an_unknown_language(org: Org) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        user_language_set(user=org.rep, language="xx")
    assert User.objects.get(pk=org.rep.pk).language == ""


def test_login_sets_the_saved_language_cookie(org: Org) -> None:
    # given rep1 saved English earlier
    user_language_set(user=org.rep, language="en")
    # when they sign in from a Chinese browser
    client, response = password_login("rep1", PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-CN")
    # then the login sets their language, and the pages follow it
    assert response.cookies[COOKIE].value == "en"
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")["Content-Language"] == "en"


def test_login_without_a_saved_language_sets_no_cookie(org: Org) -> None:
    _client, response = password_login("rep1", PASSWORD)
    assert COOKIE not in response.cookies


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("zh-CN,zh;q=0.9", "zh-hans"),
        ("zh-Hans", "zh-hans"),
        ("en-US,en;q=0.9", "en"),
        ("en", "en"),
        ("fr-FR", "zh-hans"),  # the default
    ],
)
def test_accept_language_chooses_the_language(db: None, accept: str, expected: str) -> None:
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=accept)
    assert response["Content-Language"] == expected
    html = response.content.decode()
    assert f'lang="{expected}"' in html or f"lang={expected}" in html


def test_english_and_chinese_login_pages_differ(db: None) -> None:
    english = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "Sign in to Guanxi" in english
    assert "Sign in to Guanxi" not in chinese
