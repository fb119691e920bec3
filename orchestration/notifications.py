"""Telling an owner that their data is late.

A message goes as JSON in an HTTP POST to the webhook named by STADSDATA_NOTIFY_WEBHOOK
(a chat or incident tool's incoming webhook). Without one, or when the webhook does not
answer, the message is written to the log instead, so a notice is never lost silently
and a broken webhook never fails the check that raised it.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

WEBHOOK_ENV = "STADSDATA_NOTIFY_WEBHOOK"
TIMEOUT_SECONDS = 10.0

log = logging.getLogger("stadsdata.notifications")


def webhook_url() -> str | None:
    """The configured webhook, or None; only http(s) URLs are accepted."""
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{WEBHOOK_ENV} must be an http(s) URL, not {url!r}")
    return url


def notify(message: dict[str, Any], logger: Any = None) -> str:
    """Send `message`; returns where it went: "webhook" or "log".

    `logger` is anything with `warning` (a Dagster context's log, or a logging.Logger);
    the log line carries the whole message, so it can be read or forwarded from there.
    """
    logger = logger or log
    body = json.dumps(message, ensure_ascii=False, sort_keys=True)
    try:
        url = webhook_url()
    except ValueError as error:
        logger.warning(f"{error}; the message was: {body}")
        return "log"
    if url is None:
        logger.warning(f"notification (no {WEBHOOK_ENV} set): {body}")
        return "log"
    request = urllib.request.Request(
        url,
        data=body.encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
    except (urllib.error.URLError, OSError) as error:
        logger.warning(f"notification webhook failed ({error}); the message was: {body}")
        return "log"
    return "webhook"
