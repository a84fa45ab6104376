"""Real gateway processes for tests: ``assay gateway serve`` in a subprocess on a free
loopback port, and bursts of concurrent chat requests against them."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from assay.testing import STUB_MODEL

START_TIMEOUT_S = 120.0


def assay(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def launch(config: Path, db: str, log: Path, *options: str) -> subprocess.Popen[bytes]:
    """Start ``assay gateway serve`` on a free loopback port, output to ``log``."""
    with log.open("wb") as handle:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assay",
                "gateway",
                "serve",
                "--config",
                str(config),
                "--db",
                db,
                "--port",
                "0",
                *options,
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def serving(process: subprocess.Popen[bytes], log: Path) -> str:
    """The gateway's base URL once it answers ``/health``."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        output = re.sub(r"\s+", "", log.read_text(errors="replace"))  # rich wraps lines
        found = re.search(r"on(http://127\.0\.0\.1:\d+/v1)", output)
        if found:
            url = found.group(1)
            try:
                if httpx.get(url.removesuffix("/v1") + "/health", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the gateway did not start:\n{log.read_text(errors='replace')}")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def chat(max_tokens: int = 3, **extra: object) -> dict[str, object]:
    return {
        "model": STUB_MODEL,
        "messages": [{"role": "user", "content": "Step 1: placeholder question"}],
        "max_tokens": max_tokens,
        **extra,
    }


async def burst(
    urls: list[str], secret: str, n: int, body: dict[str, object]
) -> list[httpx.Response]:
    """``n`` simultaneous chat requests, alternately to each replica."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(
        timeout=120, limits=limits, headers={"Authorization": f"Bearer {secret}"}
    ) as client:
        return list(
            await asyncio.gather(
                *(
                    client.post(f"{urls[i % len(urls)]}/chat/completions", json=body)
                    for i in range(n)
                )
            )
        )


def codes(responses: list[httpx.Response]) -> Counter[str]:
    return Counter(
        "ok" if r.status_code == 200 else f"{r.status_code} {r.json()['error']['code']}"
        for r in responses
    )
