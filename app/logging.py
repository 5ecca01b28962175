"""Structured logs: JSON lines in production, readable lines on a laptop; never an API key."""

import logging
import re

import structlog

# An API key (`lumen_<id>_<secret>`), a webhook signing secret (`whsec_<base64>`, ours or a
# partner's) or whatever follows `Bearer`, wherever it appears in a line.
_SECRETS = re.compile(
    r"lumen_[0-9a-f]{6,}_[\w-]+|whsec_[A-Za-z0-9+/=]+|(?P<scheme>(?i:bearer)\s+)[^\s'\",}]+"
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """The text with every API key and bearer token replaced."""
    return _SECRETS.sub(lambda found: (found["scheme"] or "") + REDACTED, text)


class RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """Formats like structlog, then blanks out keys: the last word on every line that leaves."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str, *, json_lines: bool = False) -> None:
    """Route standard logging through structlog's formatter."""
    # Tracebacks are plain: a traceback with its frames' locals would print request headers.
    processors: list[structlog.types.Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta
    ]
    if json_lines:
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        processors.append(
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            )
        )
    formatter = RedactingFormatter(
        processors=processors,
        foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.processors.TimeStamper("iso")],
    )
    # structlog's own loggers go through the same handler, so they too are redacted.
    structlog.configure(
        processors=[
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper("iso"),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # httpx logs every request line, and a listener's callback URL may carry its secrets.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # httpcore's debug trace holds whole response headers (a hub's `Webhook-Secret`).
    logging.getLogger("httpcore").setLevel(max(logging.INFO, root.level))
