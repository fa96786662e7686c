"""Chat-group robots: WeCom (企业微信群机器人), DingTalk (钉钉自定义机器人) and Feishu / Lark
(飞书自定义机器人). Pure functions: URL checks and masking, signatures, payloads, and the HTTP
call (stdlib urllib with a timeout, redirects refused).

Provider documentation (checked 2025):

- WeCom: POST JSON ``{"msgtype": "markdown", "markdown": {"content": …}}`` to
  ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``; success is ``{"errcode": 0}``;
  at most 20 messages a minute per robot.
- DingTalk: POST JSON ``{"msgtype": "markdown", "markdown": {"title", "text"}}`` to
  ``https://oapi.dingtalk.com/robot/send?access_token=…``; with 加签 the URL gets
  ``&timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(key=secret, msg=ts + "\\n" + secret)))>``;
  success is ``{"errcode": 0}``; at most 20 messages a minute per robot (then throttled 10 min).
- Feishu / Lark: POST JSON ``{"msg_type": "post", "content": …}`` to
  ``https://open.feishu.cn/open-apis/bot/v2/hook/<token>`` (Lark: open.larksuite.com); with 签名校验
  the body gets ``"timestamp": "<s>"`` and ``"sign": base64(HMAC-SHA256(key=ts + "\\n" + secret,
  msg=b""))``; success is ``{"code": 0}`` (older hooks answered ``{"StatusCode": 0}``); at most
  100 requests a minute (and 5 a second) per bot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

WECOM = "wecom"
DINGTALK = "dingtalk"
FEISHU = "feishu"

PROVIDER_HOSTS: dict[str, frozenset[str]] = {
    WECOM: frozenset({"qyapi.weixin.qq.com"}),
    DINGTALK: frozenset({"oapi.dingtalk.com"}),
    FEISHU: frozenset({"open.feishu.cn", "open.larksuite.com"}),
}

# Messages a minute each provider accepts from one robot (see the module docstring).
PROVIDER_RATE_PER_MINUTE: dict[str, int] = {WECOM: 20, DINGTALK: 20, FEISHU: 100}
# Feishu also caps a bot at 5 requests a second.
PROVIDER_RATE_PER_SECOND: dict[str, int] = {FEISHU: 5}

# Error codes with which the providers say "too many messages": retried after the window.
RATE_LIMITED_CODES = {45009, 130101, 11232, 9499}

MAX_TEXT = 3000  # WeCom markdown content is capped at 4096 bytes; keep well under it


@dataclass(frozen=True)
class RobotMessage:
    title: str
    text: str
    url: str = ""  # absolute link to the target, or ""
    link_label: str = ""
    language: str = "zh-hans"


@dataclass(frozen=True)
class RobotRequest:
    url: str
    body: dict[str, Any]


class RobotSendError(Exception):
    def __init__(self, message: str, *, retry: bool = True, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.rate_limited = rate_limited


# --- URLs ------------------------------------------------------------------------------------


def robot_allowed_hosts(provider: str) -> frozenset[str]:
    extra = frozenset(
        host.strip().lower() for host in getattr(settings, "GUANXI_ROBOT_EXTRA_HOSTS", ()) if host
    )
    return PROVIDER_HOSTS.get(provider, frozenset()) | extra


def robot_url_validate(provider: str, url: str) -> str:
    """The webhook URL, stripped, if it is safe to call; ValidationError otherwise.

    Only the provider's own hosts over https, so a robot cannot be pointed at an internal
    address (SSRF); ``GUANXI_ROBOT_EXTRA_HOSTS`` adds hosts (a relay, or 127.0.0.1 in tests),
    on which http is accepted too. No credentials in the URL, no fragment.
    """
    url = (url or "").strip()
    error = ValidationError(
        _("Enter the webhook address the provider gave you (an https address on %(hosts)s).")
        % {"hosts": ", ".join(sorted(PROVIDER_HOSTS.get(provider, ())))},
        code="invalid_url",
    )
    if not url or len(url) > 1000 or any(ch.isspace() for ch in url):
        raise error
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise error from None
    host = (parts.hostname or "").lower()
    if parts.username or parts.password or parts.fragment:
        raise error
    extra = robot_allowed_hosts(provider) - PROVIDER_HOSTS.get(provider, frozenset())
    if host in PROVIDER_HOSTS.get(provider, frozenset()):
        if parts.scheme != "https" or port not in (None, 443):
            raise error
    elif host in extra:
        if parts.scheme not in ("http", "https"):
            raise error
    else:
        raise error
    if provider == DINGTALK and not urllib.parse.parse_qs(parts.query).get("access_token"):
        raise error
    if provider == WECOM and not urllib.parse.parse_qs(parts.query).get("key"):
        raise error
    return url


def mask_token(value: str) -> str:
    if len(value) <= 6:
        return "****"
    return f"{value[:2]}****{value[-2:]}"


def robot_url_mask(url: str) -> str:
    """The URL with every query value and every long path segment (Feishu's token) masked:
    ``https://oapi.dingtalk.com/robot/send?access_token=ab****yz``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "****"
    path = "/".join(
        mask_token(segment) if len(segment) >= 16 else segment for segment in parts.path.split("/")
    )
    query = "&".join(
        f"{name}={mask_token(value)}"
        for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    )
    masked = f"{parts.scheme}://{parts.netloc}{path}"
    return f"{masked}?{query}" if query else masked


def secret_mask(secret: str) -> str:
    if not secret:
        return ""
    return f"{secret[:3]}****" if len(secret) > 8 else "****"


# --- Signatures ------------------------------------------------------------------------------


def hmac_sha256_base64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: URL-encoded base64 of HMAC-SHA256 keyed with the secret over
    ``"<timestamp ms>\n<secret>"``."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    return urllib.parse.quote_plus(hmac_sha256_base64(secret.encode(), string_to_sign))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu / Lark 签名校验: base64 of HMAC-SHA256 whose KEY is ``"<timestamp s>\n<secret>"``
    over an empty message (not the DingTalk way round)."""
    return hmac_sha256_base64(f"{timestamp_s}\n{secret}".encode(), b"")


# --- Payloads --------------------------------------------------------------------------------


# Markdown's link, emphasis and HTML characters, as their full-width forms. The text carries
# what users typed (a customer's name, a next action): "[点此](https://…)" must stay text, not a
# disguised link in a team's chat. Full-width rather than backslash escapes: the robots' markdown
# dialects are small and some show a backslash as it is. The link Guanxi adds is built after.
_MARKDOWN_SAFE = str.maketrans("[]()*`<>#", "［］（）＊｀＜＞＃")


def markdown_escape(text: str) -> str:
    return text.translate(_MARKDOWN_SAFE)


def _markdown(message: RobotMessage) -> str:
    text = markdown_escape(message.text[:MAX_TEXT])
    lines = [f"**{markdown_escape(message.title)}**", "", text]
    if message.url:
        lines += ["", f"[{message.link_label or message.url}]({message.url})"]
    return "\n".join(lines)


def robot_request_build(
    *, provider: str, url: str, secret: str, message: RobotMessage, now: float
) -> RobotRequest:
    """The request for one message. ``now`` is epoch seconds (the signature's timestamp)."""
    if provider == WECOM:
        return RobotRequest(
            url=url, body={"msgtype": "markdown", "markdown": {"content": _markdown(message)}}
        )
    if provider == DINGTALK:
        body = {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": _markdown(message)},
        }
        if secret:
            timestamp_ms = int(now * 1000)
            url = f"{url}&timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"
        return RobotRequest(url=url, body=body)
    if provider == FEISHU:
        locale = "en_us" if message.language.startswith("en") else "zh_cn"
        lines: list[list[dict[str, str]]] = [[{"tag": "text", "text": message.text[:MAX_TEXT]}]]
        if message.url:
            lines.append(
                [{"tag": "a", "text": message.link_label or message.url, "href": message.url}]
            )
        body: dict[str, Any] = {
            "msg_type": "post",
            "content": {"post": {locale: {"title": message.title, "content": lines}}},
        }
        if secret:
            timestamp_s = int(now)
            body = {"timestamp": str(timestamp_s), "sign": feishu_sign(secret, timestamp_s), **body}
        return RobotRequest(url=url, body=body)
    raise ValueError(f"unknown robot provider {provider!r}")


# --- Sending ---------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could lead off the allowed hosts (SSRF); the providers never redirect.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def robot_response_check(provider: str, status: int, raw: bytes) -> None:
    """Raise RobotSendError unless the provider's answer means "sent"."""
    if 300 <= status < 400:
        raise RobotSendError(f"HTTP {status}: redirect refused", retry=False)
    if status >= 400:
        raise RobotSendError(
            f"HTTP {status}", retry=status >= 500 or status == 429, rate_limited=status == 429
        )
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RobotSendError(f"HTTP {status}: the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise RobotSendError(f"HTTP {status}: unexpected answer")
    if provider in (WECOM, DINGTALK):
        code, text = answer.get("errcode"), answer.get("errmsg", "")
    else:
        code = answer.get("code", answer.get("StatusCode"))
        text = answer.get("msg", answer.get("StatusMessage", ""))
    if code == 0:
        return
    rate_limited = code in RATE_LIMITED_CODES
    raise RobotSendError(
        f"{provider} error {code}: {str(text)[:200]}", retry=True, rate_limited=rate_limited
    )


def robot_post(*, provider: str, request: RobotRequest, timeout: float | None = None) -> None:
    """POST the request; raise RobotSendError on any failure. The caller has checked the URL
    with robot_url_validate (again at send time: the allowed hosts may have changed)."""
    data = json.dumps(request.body, ensure_ascii=False).encode("utf-8")
    http_request = urllib.request.Request(
        request.url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "Guanxi"},
    )
    timeout = timeout if timeout is not None else settings.GUANXI_ROBOT_TIMEOUT_SECONDS
    try:
        with _opener.open(http_request, timeout=timeout) as response:
            status, raw = response.status, response.read(65536)
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read(65536) if error.fp else b""
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise RobotSendError(f"connection failed: {str(reason)[:200]}") from None
    robot_response_check(provider, status, raw)
