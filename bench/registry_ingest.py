"""Registry benchmark on PostgreSQL: ingest throughput of submissions (verification +
log append + rows, through the HTTP app) against bare verification (`assay verify`'s
code alone), and inclusion-proof latency at 10,000 and 1,000,000 log entries.

    .venv/bin/python bench/registry_ingest.py                 # a throwaway cluster
    .venv/bin/python bench/registry_ingest.py --db postgresql+psycopg://...

Results go to stdout as a table; docs/benchmarks.md has the figures and the command.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _pg(url: str | None) -> tuple[str, object | None]:
    if url:
        return url, None
    from tests.registry.conftest import _throwaway

    pg = _throwaway()
    folder = Path(tempfile.mkdtemp(prefix="assay-bench-pg-"))
    return pg.start(folder), (pg, folder)


def _median_spread(values: list[float]) -> str:
    med = statistics.median(values)
    return f"{med:.3g} (min {min(values):.3g}, max {max(values):.3g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="PostgreSQL server URL (default: start a throwaway one)")
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--proofs", type=int, default=200, help="proofs timed per size")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="assay-bench-home-"))
    os.environ["ASSAY_HOME"] = str(home)
    from tests.registry._flows import audit_folder, engagement_in
    from tests.registry.conftest import (
        build_world,
        drop_postgres_database,
        fresh_postgres_database,
    )

    from assay.attest import load_or_create_key, verify_attestation

    server, cleanup = _pg(args.db)
    try:
        print(f"# registry ingest on {server.split('@')[-1]}")
        # ---- ingest ---------------------------------------------------------------
        folders = []
        for i in range(args.submissions * args.runs):
            envelope, report = audit_folder(home / f"audit-{i}")
            folders.append((home / f"audit-{i}", envelope, report))
        ingest_rates, verify_rates = [], []
        for run in range(args.runs):
            url, name = fresh_postgres_database(server)
            world = build_world(url, home)
            eid = engagement_in(world, "testing")["id"]
            batch = folders[run * args.submissions : (run + 1) * args.submissions]
            keys = [load_or_create_key("tester").public_key]
            started = time.perf_counter()
            for folder, _, _ in batch:
                result = verify_attestation(folder / "attestation.json", keys, check_suites=False)
                assert result.ok
            verify_rates.append(len(batch) / (time.perf_counter() - started))
            started = time.perf_counter()
            for _, envelope, report in batch:
                response = world.call(
                    "tester",
                    "POST",
                    f"/v1/engagements/{eid}/submissions",
                    {"attestation": envelope, "report": report},
                )
                assert response.status_code == 201, response.text
            ingest_rates.append(len(batch) / (time.perf_counter() - started))
            world.client.close()
            world.state.engine.dispose()
            drop_postgres_database(server, name)
        print(f"submissions per run: {args.submissions}, runs: {args.runs}")
        print(f"bare verification (assay verify's code): {_median_spread(verify_rates)} /s")
        print(
            f"ingest through the API (verify + checks + log append + rows): {_median_spread(ingest_rates)} /s"
        )
        print(
            "ingest / bare verification: "
            f"{statistics.median(ingest_rates) / statistics.median(verify_rates):.2f}"
        )

        # ---- inclusion proofs -----------------------------------------------------
        from assay.attest import TransparencyLog, attestation_entry

        url, name = fresh_postgres_database(server)
        world = build_world(url, home)
        log: TransparencyLog = world.state.log._log  # the registry's own log
        rng = random.Random(0)
        size = log.size
        for target in (int(s) for s in args.sizes.split(",")):
            fill_started = time.perf_counter()
            while size < target:
                chunk = min(20_000, target - size)
                log.append_many(
                    [attestation_entry(f"bench-{size + i}".encode()) for i in range(chunk)],
                    tag="bench",
                )
                size += chunk
            fill = time.perf_counter() - fill_started
            runs = []
            http_runs = []
            for _ in range(args.runs):
                indices = [rng.randrange(size) for _ in range(args.proofs)]
                started = time.perf_counter()
                for index in indices:
                    log.inclusion_proof(index, size)
                runs.append((time.perf_counter() - started) / len(indices) * 1000)
                started = time.perf_counter()
                for index in indices[: args.proofs // 4]:
                    response = world.client.get(f"/v1/log/proofs/inclusion?index={index}")
                    assert response.status_code == 200
                http_runs.append((time.perf_counter() - started) / (args.proofs // 4) * 1000)
            print(
                f"log size {size}: filled in {fill:.0f} s; inclusion proof {_median_spread(runs)} ms; "
                f"over HTTP (signed size lookup + proof) {_median_spread(http_runs)} ms"
            )
        world.client.close()
        world.state.engine.dispose()
        drop_postgres_database(server, name)
    finally:
        if cleanup is not None:
            pg, folder = cleanup  # type: ignore[misc]
            pg.stop(folder)


if __name__ == "__main__":
    main()
