"""Failure alerts: every failed task is logged, and can be sent to a webhook or by email.

Off by default; configure with environment variables (compose: the .env file):

    SOTELAKE_ALERT_WEBHOOK   a URL; the alert is POSTed as JSON ({"text": ..., "dag_id": ...},
                             which Slack, Teams and Mattermost incoming webhooks accept)
    SOTELAKE_ALERT_EMAIL     comma-separated recipients, sent through SOTELAKE_SMTP_HOST
                             (default localhost), SOTELAKE_SMTP_PORT (25), SOTELAKE_ALERT_FROM

A failing notification is logged and never fails anything else. Alerts carry names, ids and the
error message, withheld (sotelake.withholding: no password, no henkilötunnus), as every error the
pipeline raises already is.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from email.message import EmailMessage

from sotelake.withholding import withhold

log = logging.getLogger(__name__)

WEBHOOK_ENV = "SOTELAKE_ALERT_WEBHOOK"
EMAIL_ENV = "SOTELAKE_ALERT_EMAIL"
TIMEOUT_SECONDS = 10
MAX_ERROR = 4000  # characters: a run's verdict lists every open item (pipeline.conclude)


def on_task_failure(context) -> None:
    """Airflow ``on_failure_callback``: log the failure, then notify where configured."""
    alert = describe(context)
    log.error("sotelake alert: %s", alert["text"])
    notify(alert)


def describe(context) -> dict:
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    rendered = getattr(ti, "rendered_map_index", None)
    task = f"{task_id}[{rendered or map_index}]" if map_index not in (-1, None) else task_id
    run_id = context.get("run_id") or getattr(ti, "run_id", "?")
    error = withhold(str(context.get("exception") or "unknown error")).strip()
    error = error if len(error) <= MAX_ERROR else error[:MAX_ERROR] + " ..."
    return {
        "text": f"sote-lake: {dag_id}.{task} failed (run {run_id}, try "
        f"{getattr(ti, 'try_number', '?')}): {error}",
        "dag_id": dag_id,
        "task": task,
        "run_id": run_id,
        "error": error,
    }


def notify(alert: dict) -> list[str]:
    """Send the alert to the configured channels; returns the channels it reached."""
    reached = []
    if url := os.environ.get(WEBHOOK_ENV):
        try:
            request = urllib.request.Request(
                url,
                data=json.dumps(alert).encode("utf-8"),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):
                reached.append("webhook")
        except OSError as error:
            log.warning("alert webhook %s failed: %s", withhold(url.split("?")[0]), error)
    if recipients := os.environ.get(EMAIL_ENV):
        message = EmailMessage()
        message["Subject"] = f"[sote-lake] {alert['dag_id']}.{alert['task']} failed"
        message["From"] = os.environ.get("SOTELAKE_ALERT_FROM", "sote-lake@localhost")
        message["To"] = recipients
        message.set_content(alert["text"])
        host = os.environ.get("SOTELAKE_SMTP_HOST", "localhost")
        port = int(os.environ.get("SOTELAKE_SMTP_PORT", "25"))
        try:
            with smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS) as smtp:
                smtp.send_message(message)
            reached.append("email")
        except (OSError, smtplib.SMTPException) as error:
            log.warning("alert email through %s:%s failed: %s", host, port, error)
    return reached
