"""Assembling a gateway from its configuration."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastapi import FastAPI

from assay._util.errors import UsageError
from assay.attest import load_or_create_key
from assay.gateway._app import AppSettings, Backend, create_app
from assay.gateway._config import GatewayConfig, ModelConfig
from assay.gateway._log import RequestLog
from assay.gateway._tokens import TokenStore


@dataclass
class Gateway:
    app: FastAPI
    backend: Backend
    tokens: TokenStore
    description: str


def build_gateway(config: GatewayConfig, *, show_progress: bool = True) -> Gateway:
    """Load the model (or connect the upstream), open the database, build the app."""
    from assay.gateway.backends import BatchingConfig, LocalBackend, UpstreamBackend

    tokens = TokenStore(config.storage.database_url())
    limits = config.limits
    backend: Backend
    if config.upstream is not None:
        up = config.upstream
        key = os.environ.get(up.api_key_env, "") if up.api_key_env else ""
        if up.api_key_env and not key:
            raise UsageError(f"the upstream key variable {up.api_key_env} is not set")
        backend = UpstreamBackend(
            up.base_url, api_key=key or None, models=up.models or None, timeout_s=up.timeout_s
        )
        description = f"upstream {up.base_url} (black and grey tiers)"
    else:
        from assay.models import load_target_model, parse_target

        spec = parse_target((config.model or ModelConfig()).target)
        if not spec.is_local:
            raise UsageError(
                f"[model] target must be local weights (builtin: or hf:), got {spec}; use [upstream] for APIs"
            )
        local = load_target_model(spec, show_progress=show_progress)
        batching = BatchingConfig(
            max_batch_size=config.batching.max_batch_size,
            max_wait_ms=config.batching.max_wait_ms,
            max_batch_tokens=config.batching.max_batch_tokens,
            default_max_tokens=limits.default_max_tokens,
            max_new_tokens=limits.max_new_tokens,
            max_prompt_tokens=limits.max_prompt_tokens,
            max_floats_per_request=limits.max_floats_per_request,
            max_rows_per_request=limits.max_rows_per_request,
            max_finetune_tokens=limits.max_finetune_tokens,
            parameter_lookups=config.whitebox.parameter_lookups,
        )
        local_backend = LocalBackend(local, batching)
        if config.fine_tuning.enabled:
            from assay.gateway.finetuning import WorkerSettings

            ft = config.fine_tuning
            local_backend.enable_fine_tuning(
                tokens.engine,
                config.storage.adapters_path(),
                max_examples=limits.max_finetune_examples,
                worker=WorkerSettings(
                    threads=ft.worker_threads, nice=ft.worker_nice, max_attempts=ft.max_attempts
                ),
            )
        backend = local_backend
        description = f"{local.name} ({local.fingerprint.digest[:23]}…), all tiers"
    metrics_token = os.environ.get(config.metrics.token_env) if config.metrics.token_env else None
    if config.metrics.token_env and not metrics_token:
        raise UsageError(f"the metrics token variable {config.metrics.token_env} is not set")
    settings = AppSettings(
        max_request_bytes=limits.max_request_bytes,
        metrics_token=metrics_token,
        metrics_loopback=config.metrics.allow_loopback,
    )
    signing_key = load_or_create_key(config.signing.key)
    log = RequestLog(tokens.engine, signing_key, origin=config.signing.log_origin)
    return Gateway(
        app=create_app(backend, tokens, log=log, settings=settings),
        backend=backend,
        tokens=tokens,
        description=description,
    )


SETTINGS_ENV = "ASSAY_GATEWAY_SETTINGS"


def app_from_environment() -> FastAPI:
    """The app of one ``--workers`` process: built from the configuration the parent
    ``assay gateway serve`` put in ``$ASSAY_GATEWAY_SETTINGS`` (uvicorn's app factory)."""
    config = GatewayConfig.model_validate_json(os.environ[SETTINGS_ENV])
    return build_gateway(config, show_progress=False).app
