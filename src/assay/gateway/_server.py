"""Running the gateway: in the foreground (``assay gateway serve``) or on a
background thread on a free loopback port (audits of local targets, tests)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from assay._util.errors import AssayError, UsageError


class BackgroundServer:
    """A real uvicorn server on ``127.0.0.1:<free port>`` in a daemon thread.

    Use as a context manager; ``base_url`` ends in ``/v1``.
    """

    def __init__(self, app: FastAPI, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", access_log=False, proxy_headers=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name="assay-gateway",
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssayError("the in-process gateway did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def bind_port(host: str, port: int) -> socket.socket:
    """Bind ``host:port`` now, so a port in use is reported before a model loads or
    anything is announced (pass the socket to :func:`serve_forever`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="choose another --port, or stop what is using it",
        ) from None
    return sock


def serve_forever(
    app: FastAPI | str,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    tls_certfile: Path | None = None,
    tls_keyfile: Path | None = None,
    trusted_proxies: list[str] | None = None,
    sock: socket.socket | None = None,
    workers: int = 1,
) -> None:
    """Serve in the foreground until interrupted (Ctrl-C stops gracefully); on
    ``sock`` when given (see :func:`bind_port`), else on ``host:port``.

    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from
    ``trusted_proxies`` (none by default: uvicorn would otherwise trust loopback).

    ``workers > 1``: uvicorn's supervisor runs that many processes on the one socket,
    each building its own app with ``app`` (an import string of an app factory, such as
    ``"assay.gateway._build:app_from_environment"``); they share state only through the
    database."""
    if (tls_certfile is None) != (tls_keyfile is None):
        raise AssayError("TLS needs both tls_certfile and tls_keyfile")
    if workers > 1 and not isinstance(app, str):
        raise AssayError("several workers need the app as an import string of a factory")
    config = uvicorn.Config(
        app,
        factory=isinstance(app, str),
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        ssl_certfile=str(tls_certfile) if tls_certfile else None,
        ssl_keyfile=str(tls_keyfile) if tls_keyfile else None,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) if trusted_proxies else None,
    )
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        sock = sock if sock is not None else config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
        return
    uvicorn.Server(config).run(sockets=[sock] if sock is not None else None)
