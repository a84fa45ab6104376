"""A registry process on a clock the test moves: ``python -m tests.registry._clocked
serve|sweep --db URL --clock FILE [--config FILE] [--port N]``. The clock is the time
written in FILE (ISO 8601), read on every question, so a test advances the registry's
time across processes by rewriting the file; it never sleeps for it."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from assay.registry import RegistryConfig, build_state, load_settings, serve_registry, sweep


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["serve", "sweep"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--clock", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    config = RegistryConfig(database_url=args.db, clock=FileClock(args.clock))
    if args.config is not None:
        config.settings = load_settings(args.config)
    if args.command == "serve":
        serve_registry(config, host="127.0.0.1", port=args.port, worker_interval=0.3)
    else:
        print(json.dumps(sweep(build_state(config))))


if __name__ == "__main__":
    main()
