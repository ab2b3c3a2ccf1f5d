"""structlog set-up: one format for our logs and for aiohttp's and APScheduler's, and redaction.

Every registered secret is replaced wherever it appears in an event, including rendered
tracebacks, and so is anything after ``Bearer``. Tracebacks never include frame locals.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor

REDACTED = "[REDACTED]"
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",}]+")
_secrets: set[str] = set()


def register_secret(secret: str) -> None:
    """Make sure ``secret`` never reaches any log output."""
    if len(secret) >= 4:
        _secrets.add(secret)


def redact_text(text: str) -> str:
    text = _BEARER.sub(r"\1" + REDACTED, text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    if isinstance(value, BaseException):
        return redact_text(str(value))
    return value


def redact_processor(_: Any, __: str, event_dict: EventDict) -> EventDict:
    for key, value in list(event_dict.items()):
        event_dict[key] = _redact(value)
    return event_dict


def _drop_color_message(_: Any, __: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)
    return event_dict


def _rendering(as_json: bool, stream: TextIO) -> list[Processor]:
    """The last processors: tracebacks (never with frame locals), redaction, the renderer."""
    if as_json:
        return [
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            redact_processor,
            structlog.processors.JSONRenderer(),
        ]
    return [
        structlog.processors.format_exc_info,
        redact_processor,
        structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback
        ),
    ]


# The loggers that report what the Neon API answered: in the demo, a simulated world.
_NEON_WORLD = ("exporter.neon", "exporter.poll.", "exporter.areas.")
# The demo's world fails some operations on purpose (for the operations row and alert).
_SCRIPTED_FAILURES = "exporter.areas.operations"


def mark_simulated(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """In the demo: a line about what the (simulated) Neon API did says ``simulated=True``, and
    the world's scripted operation failures are at info, so a first run does not look broken."""
    name = str(event_dict.get("logger", ""))
    if name.startswith(_NEON_WORLD):
        event_dict["simulated"] = True
        if name == _SCRIPTED_FAILURES and event_dict.get("level") == "warning":
            event_dict["level"] = "info"
    return event_dict


def setup_logging(
    level: str = "info", fmt: str = "auto", stream: TextIO | None = None, *, demo: bool = False
) -> None:
    stream = stream or sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_color_message,
    ]
    if demo:
        shared.append(mark_simulated)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    # aiohttp's and APScheduler's stdlib logs go through the same chain, so one format.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_rendering(as_json, stream),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs every job run at INFO; that is debug detail for an exporter.
    logging.getLogger("apscheduler").setLevel(
        logging.WARNING if level != "debug" else logging.DEBUG
    )
    logging.captureWarnings(True)


__all__ = [
    "REDACTED",
    "redact_text",
    "register_secret",
    "setup_logging",
]
