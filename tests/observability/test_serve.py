"""``stepauth serve`` as operators run it: a real process, its listeners, logs and SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from stepauth.cli import main
from tests.conftest import free_port
from tests.helpers.cli_process import KEY_ENV, serving


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``stepauth init`` output (secret in .env) with the metrics listener enabled."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("STEPAUTH_CONFIG", raising=False)
    assert main(["init", str(tmp_path / "op")]) == 0
    path = tmp_path / "op" / "stepauth.toml"
    text = path.read_text()
    text += f'\n[metrics]\nenabled = true\nport = {free_port()}\n\n[logging]\nformat = "json"\n'
    text = text.replace("[server]\n", "[server]\nshutdown_timeout = 20\n")
    path.write_text(text)
    return path


def _metrics_port(config: Path) -> int:
    from stepauth.provider.config import load_config

    return load_config(config).metrics.port


def test_serve_exposes_health_metrics_and_json_logs(config: Path) -> None:
    with serving(config) as (proc, base):
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
        sent = httpx.get(
            f"{base}/.well-known/openid-configuration",
            headers={"X-Request-Id": "probe-7"},
            timeout=5,
        )
        assert sent.headers["x-request-id"] == "probe-7"
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 404
        scraped = httpx.get(f"http://127.0.0.1:{_metrics_port(config)}/metrics", timeout=5)
        assert scraped.status_code == 200
        assert 'stepauth_http_requests_total{method="GET",route="/readyz",status="200"} 1.0' in (
            scraped.text
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        stderr = proc.stderr.read().decode() if proc.stderr is not None else ""
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert lines, "serve logged nothing"
    probe = [e for e in lines if e.get("request_id") == "probe-7"]
    assert probe
    assert probe[0]["logger"] == "stepauth.access"
    assert probe[0]["route"] == "/.well-known/openid-configuration"
    assert probe[0]["status"] == 200
    assert any(e["logger"].startswith("uvicorn") for e in lines)  # uvicorn's own, as JSON
    assert not any(e.get("route") == "/readyz" for e in lines)  # probes only at debug


def test_sigterm_lets_the_request_in_flight_finish_and_truncates_the_wal(config: Path) -> None:
    """SIGTERM during a request whose body is still arriving: the request is answered, the
    process exits 0, and the SQLite WAL is checkpointed and truncated."""
    wal = config.parent / "stepauth.db-wal"
    with serving(config) as (proc, base):
        port = int(base.rsplit(":", 1)[1])
        # a write, so the WAL holds pages the checkpoint has to move
        authorize = httpx.get(
            f"{base}/authorize",
            params={
                "response_type": "code",
                "client_id": "demo",
                "redirect_uri": "http://localhost:8000/stepauth/callback",
                "scope": "openid",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            },
            timeout=5,
        )
        assert authorize.status_code == 303, authorize.text
        assert wal.stat().st_size > 0
        body = b"grant_type=authorization_code&code=not-a-code&client_id=nobody"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            head = (
                "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode() + body[:10])
            time.sleep(0.5)  # the server holds the request, waiting for its body
            proc.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert proc.poll() is None, "the server quit with a request in flight"
            sock.sendall(body[10:])
            response = b""
            while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                response += chunk
        status_line = response.split(b"\r\n", 1)[0]
        assert status_line == b"HTTP/1.1 401 Unauthorized", response[:300]
        assert b'"error":"invalid_client"' in response
        assert proc.wait(timeout=60) == 0
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/healthz", timeout=2)
    assert not wal.exists() or wal.stat().st_size == 0
