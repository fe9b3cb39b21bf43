"""The library's logging: silent by default, to stderr when ``SESSION_CLIENT_LOG`` asks."""

from __future__ import annotations

import logging
import os

__all__ = ["LOG_ENV", "configure_logging"]

LOG_ENV = "SESSION_CLIENT_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def configure_logging(logger: logging.Logger) -> None:
    """Give ``logger`` a handler of its own: a ``NullHandler`` (a library leaves its output to
    the application; without any handler, logging's last resort would print every warning to
    stderr), or, with ``SESSION_CLIENT_LOG=debug|info``, one writing to stderr at that level."""
    level = _LEVELS.get(os.environ.get(LOG_ENV, "").strip().lower())
    if level is None:
        logger.addHandler(logging.NullHandler())
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
