"""Structured logs: JSON lines in production, readable lines on a laptop."""

import logging

import structlog


def configure_logging(level: str, *, json_lines: bool = False) -> None:
    """Route standard logging through structlog's formatter."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        processor=renderer,
        foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.processors.TimeStamper("iso")],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # httpx logs every request line, and a listener's callback URL may carry its secrets.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
