"""Target specs: the one string that names what an audit tests."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from assay._util.errors import UsageError


class TargetKind(StrEnum):
    BUILTIN = "builtin"
    HF = "hf"
    OPENAI = "openai"
    GATEWAY = "gateway"


DEFAULT_TARGET = "builtin:smollm2"
_FORMS = "builtin:smollm2 (or smollm2-guarded, -locked, -backdoored), hf:PATH_OR_ID, openai:BASE_URL or gateway:URL"


@dataclass(frozen=True)
class TargetSpec:
    """A parsed target: ``kind`` and the ``location`` after the colon."""

    kind: TargetKind
    location: str

    @property
    def is_local(self) -> bool:
        """Weights on this machine: assay serves them through an in-process gateway."""
        return self.kind in (TargetKind.BUILTIN, TargetKind.HF)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.location}"


def parse_target(spec: str) -> TargetSpec:
    """Parse ``builtin:NAME``, ``hf:PATH_OR_ID``, ``openai:URL`` or ``gateway:URL``."""
    scheme, sep, rest = spec.strip().partition(":")
    if not sep or not rest:
        raise UsageError(f"target {spec!r} has no scheme", hint=f"use one of {_FORMS}")
    try:
        kind = TargetKind(scheme.lower())
    except ValueError:
        raise UsageError(
            f"unknown target scheme {scheme!r} in {spec!r}", hint=f"use one of {_FORMS}"
        ) from None
    if kind in (TargetKind.OPENAI, TargetKind.GATEWAY):
        if not rest.startswith(("http://", "https://")):
            raise UsageError(
                f"target {spec!r} needs an http(s) URL after '{kind.value}:'",
                hint=f"for example {kind.value}:http://127.0.0.1:8000/v1",
            )
        rest = rest.rstrip("/")
    if kind is TargetKind.BUILTIN:
        from assay.models._builtin import BUILTIN_MODELS

        if rest not in BUILTIN_MODELS:
            known = ", ".join(f"builtin:{n}" for n in BUILTIN_MODELS)
            raise UsageError(f"unknown built-in model {rest!r}", hint=f"known: {known}")
    return TargetSpec(kind=kind, location=rest)
