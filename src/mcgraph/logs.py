"""Structured logs (structlog): JSON lines in production, readable lines in development.

Every line written while a request is served carries its ``request_id``; the request
middleware binds it with :func:`structlog.contextvars.bind_contextvars`. Each GraphQL
request writes one ``graphql request`` line (see :mod:`mcgraph.api.observe`).

No line carries a credential: a field named like one (``authorization``, ``token``,
``secret``, ``password``, ...) is written as ``[redacted]`` whatever logged it.

The web server's own lines go the same way: uvicorn's loggers write through the root
handler (JSON in production, a traceback in the line's ``exception`` field), and its
access lines, which carry the query string (a GET's query and variables), are turned off:
:class:`~mcgraph.middleware.RequestIdMiddleware` writes one ``access`` line per request
instead, with the path alone and the request id. A path quoted by uvicorn (a WebSocket's
handshake) loses its query string too.
"""

from __future__ import annotations

import logging
import sys

import structlog

from mcgraph.settings import Settings

REDACTED = "[redacted]"
_SECRET_NAMES = frozenset({"authorization", "token", "secret", "password", "api_key", "cookie", "secret_key"})
_SECRET_ENDINGS = ("_token", "_secret", "_password")


def redact_secrets(_: object, __: str, event_dict: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """A processor: the value of any field named like a credential becomes ``[redacted]``."""
    for key in event_dict:
        lowered = key.lower()
        if lowered in _SECRET_NAMES or lowered.endswith(_SECRET_ENDINGS):
            event_dict[key] = REDACTED
    return event_dict


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")


class PathWithoutQuery(logging.Filter):
    """Cuts the query string from the paths uvicorn quotes in its lines' arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("uvicorn") and isinstance(record.args, tuple):
            record.args = tuple(
                arg.split("?", 1)[0] if isinstance(arg, str) and arg.startswith("/") else arg for arg in record.args
            )
        return True


def configure_logging(settings: Settings) -> None:
    fmt = settings.log_format or ("json" if settings.is_production else "console")
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        redact_secrets,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(PathWithoutQuery())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in UVICORN_LOGGERS:  # uvicorn's own handlers write plain text
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")  # the middleware writes the access lines
    access.handlers[:] = []
    access.propagate = False
    # A warning (Python's warnings module) is a log line too, not raw text on stderr.
    logging.captureWarnings(fmt == "json")
    # Strawberry logs every resolver error with a traceback; ours carry the request id.
    logging.getLogger("strawberry.execution").disabled = True
    logging.getLogger("alembic").setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
