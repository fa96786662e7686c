"""Robot payloads, signatures (against fixed and published vectors), URL checks and masking."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from guanxi.notifications import robots
from guanxi.notifications.robots import (
    RobotMessage,
    RobotSendError,
    dingtalk_sign,
    feishu_sign,
    hmac_sha256_base64,
    robot_request_build,
    robot_response_check,
    robot_url_mask,
    robot_url_validate,
)
from tests.notifications.conftest import DINGTALK_URL, FEISHU_URL, WECOM_URL

SECRET = "SECb6d7d5c3a2f14e1f9b3c0e6f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
MESSAGE = RobotMessage(
    title="跟进逾期",
    text="客户华为的跟进已逾期。",
    url="https://crm.example.com/c/1/",
    link_label="打开",
    language="zh-hans",
)


# --- signatures --------------------------------------------------------------------------------


def test_dingtalk_primitive_matches_the_published_dingtalk_sample():
    # DingTalk's documented HMAC-SHA256 / base64 / urlencode sample (timestamp 1546084445901,
    # secret "testappSecret"): the same primitive the robot signature is built from.
    signed = urllib.parse.quote_plus(hmac_sha256_base64(b"testappSecret", b"1546084445901"))
    assert signed == "HCbG3xNE3vzhO%2Bu7qCUL1jS5hsu2n5r2cFhnTrtyDAE%3D"


def test_dingtalk_sign_follows_the_documented_algorithm():
    timestamp_ms = 1700000000123
    # computed here independently: HMAC-SHA256 keyed with the secret over "ts\nsecret"
    digest = hmac.new(
        SECRET.encode("utf-8"), f"{timestamp_ms}\n{SECRET}".encode(), hashlib.sha256
    ).digest()
    expected = urllib.parse.quote(base64.b64encode(digest).decode(), safe="")
    assert dingtalk_sign(SECRET, timestamp_ms) == expected
    # a fixed vector, so a change of algorithm cannot pass by changing both sides
    assert dingtalk_sign("testappSecret", 1546084445901) == (
        "fYP0TV8RJULxGabs59wSO94FZbNekbH7ebQJu2oy%2B%2F0%3D"
    )


def test_feishu_sign_matches_a_published_vector():
    # timestamp 1599360473 (the example in Feishu's documentation), secret "demo": the value
    # two independent open-source Feishu clients assert in their tests.
    assert feishu_sign("demo", 1599360473) == "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="


def test_feishu_sign_uses_the_string_as_the_key_over_an_empty_message():
    timestamp = 1700000000
    key = f"{timestamp}\n{SECRET}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert feishu_sign(SECRET, timestamp) == expected
    # not the DingTalk way round
    wrong = base64.b64encode(hmac.new(SECRET.encode(), key, hashlib.sha256).digest()).decode()
    assert feishu_sign(SECRET, timestamp) != wrong


# --- payloads ----------------------------------------------------------------------------------


def test_wecom_payload_is_markdown_to_the_url_as_is():
    request = robot_request_build(
        provider="wecom", url=WECOM_URL, secret="", message=MESSAGE, now=1700000000.5
    )
    assert request.url == WECOM_URL
    assert request.body == {
        "msgtype": "markdown",
        "markdown": {
            "content": "**跟进逾期**\n\n客户华为的跟进已逾期。\n\n[打开](https://crm.example.com/c/1/)"
        },
    }


def test_dingtalk_signed_payload_appends_timestamp_in_ms_and_sign():
    request = robot_request_build(
        provider="dingtalk", url=DINGTALK_URL, secret=SECRET, message=MESSAGE, now=1700000000.123
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    assert query["access_token"] == ["abcdef0123456789wxyz"]
    assert query["timestamp"] == ["1700000000123"]
    # parse_qs decodes the URL-encoding once: the raw base64 signature is what DingTalk checks
    digest = hmac.new(SECRET.encode(), f"1700000000123\n{SECRET}".encode(), hashlib.sha256)
    assert query["sign"] == [base64.b64encode(digest.digest()).decode()]
    assert request.body["msgtype"] == "markdown"
    assert request.body["markdown"]["title"] == "跟进逾期"
    assert "客户华为的跟进已逾期。" in request.body["markdown"]["text"]


def test_dingtalk_unsigned_payload_leaves_the_url_alone():
    request = robot_request_build(
        provider="dingtalk", url=DINGTALK_URL, secret="", message=MESSAGE, now=1700000000
    )
    assert request.url == DINGTALK_URL


def test_feishu_signed_payload_carries_timestamp_in_seconds_and_sign_in_the_body():
    request = robot_request_build(
        provider="feishu", url=FEISHU_URL, secret="demo", message=MESSAGE, now=1599360473.9
    )
    assert request.url == FEISHU_URL
    assert request.body["timestamp"] == "1599360473"
    assert request.body["sign"] == "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
    assert request.body["msg_type"] == "post"
    post = request.body["content"]["post"]["zh_cn"]
    assert post["title"] == "跟进逾期"
    assert post["content"][0] == [{"tag": "text", "text": "客户华为的跟进已逾期。"}]
    assert post["content"][1] == [
        {"tag": "a", "text": "打开", "href": "https://crm.example.com/c/1/"}
    ]


def test_feishu_payload_in_english_uses_the_en_us_locale():
    message = RobotMessage(title="Overdue", text="Follow-up overdue.", language="en")
    request = robot_request_build(
        provider="feishu", url=FEISHU_URL, secret="", message=message, now=1
    )
    assert set(request.body) == {"msg_type", "content"}
    assert list(request.body["content"]["post"]) == ["en_us"]


# --- answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "answer"),
    [
        ("wecom", b'{"errcode":0,"errmsg":"ok"}'),
        ("dingtalk", b'{"errcode":0,"errmsg":"ok"}'),
        ("feishu", b'{"code":0,"msg":"success","data":{}}'),
        ("feishu", b'{"StatusCode":0,"StatusMessage":"success"}'),
    ],
)
def test_success_answers(provider, answer):
    robot_response_check(provider, 200, answer)


@pytest.mark.parametrize(
    ("provider", "status", "answer", "retry", "rate_limited"),
    [
        ("dingtalk", 200, b'{"errcode":310000,"errmsg":"sign not match"}', True, False),
        ("dingtalk", 200, b'{"errcode":130101,"errmsg":"send too fast"}', True, True),
        ("wecom", 200, b'{"errcode":93000,"errmsg":"invalid webhook url"}', True, False),
        ("wecom", 200, b'{"errcode":45009,"errmsg":"api freq out of limit"}', True, True),
        ("feishu", 200, b'{"code":19021,"msg":"sign match fail"}', True, False),
        ("feishu", 200, b'{"code":9499,"msg":"too many request"}', True, True),
        ("feishu", 200, b"<html>gateway</html>", True, False),
        ("feishu", 200, b"[]", True, False),
        ("wecom", 200, b'{"errmsg":"no code"}', True, False),
        ("wecom", 503, b"", True, False),
        ("wecom", 429, b"", True, True),
        ("wecom", 404, b"", False, False),
        ("wecom", 302, b"", False, False),
    ],
)
def test_failure_answers(provider, status, answer, retry, rate_limited):
    with pytest.raises(RobotSendError) as raised:
        robot_response_check(provider, status, answer)
    assert raised.value.retry is retry
    assert raised.value.rate_limited is rate_limited


# --- URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "url"),
    [
        ("dingtalk", DINGTALK_URL),
        ("wecom", WECOM_URL),
        ("feishu", FEISHU_URL),
        ("feishu", "https://open.larksuite.com/open-apis/bot/v2/hook/abc"),
    ],
)
def test_provider_urls_are_accepted(provider, url):
    assert robot_url_validate(provider, f"  {url} ") == url


@pytest.mark.parametrize(
    ("provider", "url"),
    [
        ("dingtalk", "http://oapi.dingtalk.com/robot/send?access_token=abc"),  # not https
        ("dingtalk", "https://oapi.dingtalk.com:8443/robot/send?access_token=abc"),
        ("dingtalk", "https://oapi.dingtalk.com/robot/send"),  # no token
        ("dingtalk", "https://evil.example.com/robot/send?access_token=abc"),
        ("dingtalk", "https://oapi.dingtalk.com.evil.example.com/robot/send?access_token=abc"),
        ("dingtalk", "https://user:pw@oapi.dingtalk.com/robot/send?access_token=abc"),
        ("dingtalk", WECOM_URL),  # another provider's host
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"),
        ("feishu", "http://127.0.0.1:8000/hook"),  # internal address, not allowed by default
        ("feishu", "http://169.254.169.254/latest/meta-data"),
        ("feishu", "file:///etc/passwd"),
        ("feishu", "https://open.feishu.cn/hook#x"),
        ("feishu", ""),
        ("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/a b"),
    ],
)
def test_unsafe_urls_are_refused(provider, url):
    with pytest.raises(ValidationError):
        robot_url_validate(provider, url)


def test_extra_hosts_setting_allows_a_local_address():
    with override_settings(GUANXI_ROBOT_EXTRA_HOSTS=["127.0.0.1"]):
        assert robot_url_validate("feishu", "http://127.0.0.1:8000/hook") == (
            "http://127.0.0.1:8000/hook"
        )
        with pytest.raises(ValidationError):
            robot_url_validate("feishu", "ftp://127.0.0.1/hook")


def test_masks_hide_tokens():
    assert robot_url_mask(DINGTALK_URL) == (
        "https://oapi.dingtalk.com/robot/send?access_token=ab****yz"
    )
    assert (
        robot_url_mask(WECOM_URL) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=69****aa"
    )
    assert robot_url_mask(FEISHU_URL) == "https://open.feishu.cn/open-apis/bot/v2/hook/5e****fd"
    assert robots.secret_mask(SECRET) == "SEC****"
    assert robots.secret_mask("short") == "****"
    assert robots.secret_mask("") == ""


def test_typed_markdown_cannot_become_a_link_or_emphasis_in_a_group_chat():
    message = RobotMessage(
        title="跟进逾期 [急]",
        text="下一步：[点此领取](https://evil.example.com) **立即** `处理`",
        url="https://crm.example.com/c/1/",
        link_label="打开",
        language="zh-hans",
    )
    for provider in ("wecom", "dingtalk"):
        url = WECOM_URL if provider == "wecom" else DINGTALK_URL
        request = robot_request_build(
            provider=provider, url=url, secret="", message=message, now=1700000000.5
        )
        content = str(request.body)
        assert "](https://evil.example.com)" not in content and "**立即**" not in content
        assert "［点此领取］（https://evil.example.com）" in content
        # the link Guanxi adds itself still works
        assert "[打开](https://crm.example.com/c/1/)" in content
