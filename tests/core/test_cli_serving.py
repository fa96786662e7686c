"""`guanxi demo` and `guanxi serve` as a user runs them: real gunicorn + whitenoise processes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

GUANXI = str(Path(sys.executable).with_name("guanxi"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    env.update(GUANXI_DATA_DIR=str(tmp_path), WEB_CONCURRENCY="1", **extra)
    return env


def _get(url: str, language: str = "zh-CN") -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Accept-Language": language})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, dict(response.headers), response.read().decode()


def test_demo_serves_the_login_page_with_production_serving(tmp_path):
    # given a fresh data directory and a free port
    port = _free_port()
    process = subprocess.Popen(
        [GUANXI, "demo"],
        env=_env(tmp_path, PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        # when it has started (migrate, static files, demo data, gunicorn) — within a minute
        deadline = time.monotonic() + 60
        status, headers, body = 0, {}, ""
        while time.monotonic() < deadline:
            try:
                status, headers, body = _get(f"http://127.0.0.1:{port}/accounts/login/")
                break
            except OSError:
                time.sleep(0.5)
        # then the login page is served in Chinese, by gunicorn, with the security headers
        assert status == 200, "the demo did not serve the login page within a minute"
        assert headers["Server"].startswith("gunicorn")
        assert headers["Content-Language"] == "zh-hans"
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        # and its stylesheet is a hashed, compressed file served by whitenoise with a long cache
        css = re.search(r'href="(/static/vendor/tabler/css/tabler\.min\.[0-9a-f]{12}\.css)"', body)
        assert css, "the page does not link the hashed stylesheet"
        css_status, css_headers, _css = _get(f"http://127.0.0.1:{port}{css.group(1)}")
        assert css_status == 200
        assert "max-age=315360000" in css_headers["Cache-Control"]
        # and English is one Accept-Language away
        _status, en_headers, _body = _get(f"http://127.0.0.1:{port}/accounts/login/", "en-US")
        assert en_headers["Content-Language"] == "en"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    # and it printed how to sign in
    assert "rep1" in output and "guanxi-demo" in output


def test_demo_refuses_a_database_url_without_force(tmp_path):
    result = subprocess.run(
        [GUANXI, "demo"],
        env=_env(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/guanxi_never"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--force" in result.stderr
    assert not (tmp_path / "static").exists()


def test_serve_refuses_a_public_bind_with_the_built_in_secret_key(tmp_path):
    result = subprocess.run(
        [GUANXI, "serve"],
        env=_env(tmp_path, GUANXI_BIND="0.0.0.0:9"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
