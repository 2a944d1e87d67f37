"""Structured logs: one JSON object per line, carrying the correlation id of the request or job at hand.

`PANOPTICA_LOG_FORMAT=json` (production) or `text` (a terminal). The correlation id comes from the
`X-Request-ID` header when a proxy set one, else a new one; jobs use their job id. Log records never carry
secrets: the code logs ids, codes and counts, and values are redacted where they are built.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import uuid
from datetime import UTC, datetime

CORRELATION_ID: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")
_CONFIGURED = False


@contextlib.contextmanager
def correlated(correlation_id: str | None = None):
    """Within the block, every log record carries this id (a new one when none is given)."""
    token = CORRELATION_ID.set(correlation_id or uuid.uuid4().hex)
    try:
        yield CORRELATION_ID.get()
    finally:
        CORRELATION_ID.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if CORRELATION_ID.get():
            entry["correlation_id"] = CORRELATION_ID.get()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return f"{line} [{CORRELATION_ID.get()}]" if CORRELATION_ID.get() else line


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """Once per process: our handler on the root logger (uvicorn's access log keeps its own)."""
    global _CONFIGURED
    if _CONFIGURED:
        return
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)  # beside any handler already there (a test runner's capture, say)
    root.setLevel(level)
    # One line per outbound HTTP request is noise at INFO; their failures still show (and are counted).
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    _CONFIGURED = True
