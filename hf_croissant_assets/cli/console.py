"""What a command prints while a run goes: the assets' own log lines, not Dagster's event stream.

Dagster's default console logger prints every event (step start, input loaded, output handled,
...) at DEBUG and each failure's stack trace, so the few lines that matter (progress, warnings)
drown. The commands replace it, for their runs only, with `cli_logger`:

- INFO (default): the assets' messages (`context.log.info(...)`: progress with rate and ETA,
  budget warnings), one line each, prefixed with the UTC time and the step;
- `-v` (DEBUG): Dagster's events too, still one line each;
- failures are never printed here: the command prints one line per failed step at the end, and
  the full trace stays in the run's event log (the UI, `dagster dev`).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

from dagster import Field, InitLoggerContext, LoggerDefinition, logger

#: The Python logger of the plain layers (progress of a crawl outside Dagster, the commands).
PACKAGE_LOGGER = "hf_croissant_assets"


class _LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta: dict[str, Any] = getattr(record, "dagster_meta", None) or {}
        message = str(meta.get("orig_message") or record.getMessage())
        event = meta.get("dagster_event")
        if event is not None:
            message = f"[{event.event_type_value}] {message}".rstrip()
        step = meta.get("step_key")
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        text = " ".join(message.split()) if event is not None else message
        return f"{stamp} {step}: {text}" if step else f"{stamp} {text}"


class _Filter(logging.Filter):
    """Drops failure events (printed once, at the end, by the command) and, at INFO, every
    Dagster event (the structured stream the UI shows)."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return True
        if event.is_step_failure or event.is_failure or "FAILURE" in event.event_type_value:
            return False
        return self.verbose


def _console_logger(init_context: InitLoggerContext) -> logging.Logger:
    verbose = bool(init_context.logger_config["verbose"])
    log = logging.getLogger("hf_croissant_assets.cli.run")
    log.handlers.clear()
    log.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    handler.addFilter(_Filter(verbose))
    log.addHandler(handler)
    return log


cli_logger: LoggerDefinition = logger(
    config_schema={"verbose": Field(bool, default_value=False)},
    description="One line per asset message (INFO) or per event (-v); failures at the end.",
)(_console_logger)


def logger_run_config(verbose: bool) -> dict[str, Any]:
    return {"loggers": {"console": {"config": {"verbose": verbose}}}}


def configure_logging(verbose: bool) -> None:
    """The plain layers' Python logging, for code a command runs outside Dagster."""
    log = logging.getLogger(PACKAGE_LOGGER)
    if not any(getattr(h, "_hf_croissant", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_LineFormatter())
        handler._hf_croissant = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    # Dagster's own Python loggers (code-server, instance) stay quiet unless asked for.
    logging.getLogger("dagster").setLevel(logging.DEBUG if verbose else logging.WARNING)
