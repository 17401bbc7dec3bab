"""A logging handler that keeps every record as the line Lambda would print (tests search them)."""

from __future__ import annotations

import logging


class LogCapture(logging.Handler):
    """Formats every record it receives with the service logger's formatter (Powertools JSON)."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(level=logging.DEBUG)
        if formatter is not None:
            self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
