"""The gateway configuration file (TOML). Every section is optional.

```toml
[server]
host = "127.0.0.1"            # bind loopback; expose through a TLS proxy
port = 8000
# tls_certfile = "cert.pem"   # or terminate TLS in uvicorn directly
# tls_keyfile = "key.pem"
# trusted_proxies = ["127.0.0.1"]  # X-Forwarded-For/-Proto only from these (default: none)

[model]                        # local weights: all tiers
target = "builtin:smollm2"     # or "hf:/path/to/model"

# [upstream]                   # instead of [model]: black and grey tiers only
# base_url = "http://127.0.0.1:8001/v1"
# api_key_env = "UPSTREAM_API_KEY"   # the developer's key; testers never see it
# models = ["my-model"]              # default: what the upstream lists

[limits]
max_request_bytes = 8388608
max_new_tokens = 4096
default_max_tokens = 512
max_floats_per_request = 131072
max_rows_per_request = 64      # prompts x n of one request
max_finetune_examples = 2000
max_finetune_tokens = 262144   # steps x batch_size x max_length of one job
# max_prompt_tokens = 4096     # default: the model's context length

[token_defaults]               # quotas of `token issue` when none is given
grey_max_floats = 5000000
white_max_floats = 100000

[whitebox]
parameter_lookups = false      # true offers embed, layers.0.*, final_norm: see docs/threat-model.md

[batching]
max_batch_size = 16
max_wait_ms = 5.0
max_batch_tokens = 32768

[storage]
# database = "sqlite:////var/lib/assay/gateway.sqlite"   # or postgresql+psycopg://...
# adapters_dir = "/var/lib/assay/adapters"

[metrics]
# token_env = "ASSAY_METRICS_TOKEN"  # /metrics needs this bearer token
# allow_loopback = false             # true: loopback clients need no token

[fine_tuning]
enabled = true
worker_threads = 1             # torch threads of the fine-tuning worker process
worker_nice = 10               # it runs at a lower priority than the gateway
max_attempts = 2               # starts of a job before a dying worker fails it

[signing]
key = "gateway"                # $ASSAY_HOME/keys/<key>.key signs checkpoints and exports
# log_origin = "gw.lab.example/assay"  # the request log's name (default from the key)
```
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assay._util.errors import UsageError
from assay._util.paths import subdir


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    log_level: str = "info"
    trusted_proxies: list[str] = Field(default_factory=list)


class ModelConfig(_Section):
    target: str = "builtin:smollm2"


class UpstreamConfig(_Section):
    base_url: str
    api_key_env: str | None = None
    models: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=600.0, gt=0)


class LimitsConfig(_Section):
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_prompt_tokens: int | None = Field(default=None, ge=1)
    max_new_tokens: int = Field(default=4096, ge=1)
    default_max_tokens: int = Field(default=512, ge=1)
    max_floats_per_request: int = Field(default=131_072, ge=1)
    max_rows_per_request: int = Field(default=64, ge=1, le=4096)
    max_finetune_examples: int = Field(default=2000, ge=1)
    max_finetune_tokens: int = Field(default=262_144, ge=1)


class TokenDefaults(_Section):
    grey_max_floats: int | None = Field(default=5_000_000, ge=1)
    white_max_floats: int | None = Field(default=100_000, ge=1)


class WhiteboxConfig(_Section):
    parameter_lookups: bool = False


class BatchingSection(_Section):
    max_batch_size: int = Field(default=16, ge=1, le=1024)
    max_wait_ms: float = Field(default=5.0, ge=0)
    max_batch_tokens: int = Field(default=32768, ge=1)


class StorageConfig(_Section):
    database: str | None = None
    adapters_dir: Path | None = None

    def database_url(self) -> str:
        return self.database or f"sqlite:///{subdir('gateway') / 'gateway.sqlite'}"

    def adapters_path(self) -> Path:
        return self.adapters_dir or subdir("gateway") / "adapters"


class MetricsConfig(_Section):
    token_env: str | None = None
    allow_loopback: bool = False


class FineTuningConfig(_Section):
    enabled: bool = True
    worker_threads: int = Field(default=1, ge=1, le=256)
    worker_nice: int = Field(default=10, ge=0, le=19)
    max_attempts: int = Field(default=2, ge=1, le=100)


class SigningConfig(_Section):
    key: str = "gateway"
    log_origin: str | None = None


class GatewayConfig(_Section):
    """Everything ``assay gateway serve`` needs; defaults serve SmolLM2 on loopback."""

    server: ServerConfig = Field(default_factory=ServerConfig)
    model: ModelConfig | None = None
    upstream: UpstreamConfig | None = None
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    token_defaults: TokenDefaults = Field(default_factory=TokenDefaults)
    whitebox: WhiteboxConfig = Field(default_factory=WhiteboxConfig)
    batching: BatchingSection = Field(default_factory=BatchingSection)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    fine_tuning: FineTuningConfig = Field(default_factory=FineTuningConfig)
    signing: SigningConfig = Field(default_factory=SigningConfig)

    @classmethod
    def load(cls, path: Path | None) -> GatewayConfig:
        """Read and validate a TOML file; every problem is named with its location."""
        if path is None:
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"configuration file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{path} is not valid TOML: {exc}") from None
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
            )
            raise UsageError(f"{path}: {problems}") from None
        if config.model is not None and config.upstream is not None:
            raise UsageError(f"{path}: give either [model] or [upstream], not both")
        return config
