from __future__ import annotations

import pytest

from tests.conftest import login_client

pytestmark = pytest.mark.django_db


def test_login_page_renders_in_chinese_by_default(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"


def test_home_renders_for_every_role(org):
    for user in org.by_role().values():
        response = login_client(user).get("/")
        assert response.status_code == 200, user.role
        assert user.full_name in response.content.decode()
