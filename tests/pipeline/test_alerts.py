"""Failure alerts reach a real webhook and a real SMTP conversation; unconfigured, they only log."""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import pytest

from sotelake import alerts


def failed_context(error: str = "source database unreachable") -> dict:
    ti = SimpleNamespace(
        dag_id="sotelake_pipeline",
        task_id="extract",
        map_index=3,
        rendered_map_index="unified_record.visits",
        run_id="scheduled__2026-01-02",
        try_number=4,
    )
    return {"ti": ti, "exception": RuntimeError(error), "run_id": ti.run_id}


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/abc", received
    server.shutdown()


@pytest.fixture
def smtp_server():
    """The server side of SMTP, enough for smtplib: it keeps the DATA of each message."""
    messages: list[str] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"220 test ESMTP\r\n")
            while line := self.rfile.readline():
                command = line.decode().strip().upper()
                if command.startswith(("EHLO", "HELO")):
                    self.wfile.write(b"250 test\r\n")
                elif command == "DATA":
                    self.wfile.write(b"354 go on\r\n")
                    body = []
                    while (data := self.rfile.readline()) not in (b".\r\n", b""):
                        body.append(data.decode())
                    messages.append("".join(body))
                    self.wfile.write(b"250 queued\r\n")
                elif command == "QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:  # MAIL FROM, RCPT TO, RSET, NOOP
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], messages
    server.shutdown()
    server.server_close()


def test_an_unconfigured_alert_is_only_logged(monkeypatch, caplog):
    monkeypatch.delenv(alerts.WEBHOOK_ENV, raising=False)
    monkeypatch.delenv(alerts.EMAIL_ENV, raising=False)
    alerts.on_task_failure(failed_context())
    assert "extract[unified_record.visits] failed (run scheduled__2026-01-02, try 4)" in caplog.text
    assert alerts.notify(alerts.describe(failed_context())) == []


def test_a_failed_task_is_posted_to_the_webhook_and_mailed(monkeypatch, webhook, smtp_server):
    url, received = webhook
    port, messages = smtp_server
    monkeypatch.setenv(alerts.WEBHOOK_ENV, url)
    monkeypatch.setenv(alerts.EMAIL_ENV, "steward@example.fi")
    monkeypatch.setenv("SOTELAKE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SOTELAKE_SMTP_PORT", str(port))
    assert alerts.notify(alerts.describe(failed_context())) == ["webhook", "email"]
    assert received[0]["task"] == "extract[unified_record.visits]"
    assert received[0]["error"] == "source database unreachable"
    assert "sotelake_pipeline.extract[unified_record.visits] failed" in received[0]["text"]
    assert "To: steward@example.fi" in messages[0]
    assert (
        "Subject: [sote-lake] sotelake_pipeline.extract[unified_record.visits] failed"
        in (messages[0])
    )


def test_an_unreachable_channel_does_not_raise(monkeypatch, caplog):
    monkeypatch.setenv(alerts.WEBHOOK_ENV, "http://127.0.0.1:9/nowhere")
    monkeypatch.setenv(alerts.EMAIL_ENV, "steward@example.fi")
    monkeypatch.setenv("SOTELAKE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SOTELAKE_SMTP_PORT", "9")
    assert alerts.notify(alerts.describe(failed_context())) == []
    assert "alert webhook" in caplog.text and "alert email" in caplog.text
