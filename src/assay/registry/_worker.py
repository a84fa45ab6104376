"""The registry's periodic work: publish the findings whose deadline passed, send the
notifications that are due. ``assay registry serve`` runs it in a background thread;
``assay registry worker`` runs it on its own (e.g. from cron, or as a second process):
every step is claimed in the database, so any number of workers may run at once."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from assay.registry._app import RegistryConfig, RegistryState, build_state, create_app
from assay.registry._findings import sweep
from assay.registry._webhooks import deliver_due

logger = logging.getLogger("assay.registry")
DEFAULT_INTERVAL = 5.0


@dataclass(frozen=True)
class WorkDone:
    published: list[int]
    delivered: int


def run_once(reg: RegistryState) -> WorkDone:
    """One round: publish what is due, then deliver what is due."""
    published = sweep(reg)
    delivered = deliver_due(reg)
    return WorkDone(published, delivered)


class Worker(threading.Thread):
    """:func:`run_once` every ``interval`` seconds until stopped."""

    def __init__(self, reg: RegistryState, interval: float = DEFAULT_INTERVAL) -> None:
        super().__init__(name="assay-registry-worker", daemon=True)
        self.reg = reg
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                run_once(self.reg)
            except Exception:  # keep working: a bad round must not stop publication
                logger.exception("registry worker round failed")

    def stop(self) -> None:
        self._stop_event.set()


def serve_registry(
    config: RegistryConfig,
    *,
    host: str,
    port: int,
    worker_interval: float | None = DEFAULT_INTERVAL,
) -> None:
    """Serve the registry's API and pages, with the worker in the background (none
    when ``worker_interval`` is None)."""
    from dataclasses import replace

    from assay.gateway import serve_forever

    if config.settings.public_url is None:
        config.settings = replace(config.settings, public_url=f"http://{host}:{port}")
    reg = build_state(config)
    worker = Worker(reg, worker_interval) if worker_interval else None
    if worker is not None:
        worker.start()
    try:
        serve_forever(create_app(reg), host=host, port=port, log_level="warning")
    finally:
        if worker is not None:
            worker.stop()
