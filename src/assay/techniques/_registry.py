"""The techniques by name, for audit plans and reports: each registers itself with
the :func:`technique` decorator, the way Inspect's ``@task`` and ``@solver`` do."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from assay._util.errors import UsageError
from assay.techniques._base import Headline, Progress, TechniqueConfig, TechniqueResult
from assay.techniques._client import WhiteboxClient
from assay.techniques._run import TechniqueRun

C = TypeVar("C", bound=TechniqueConfig)
R = TypeVar("R", bound=TechniqueResult)
C_contra = TypeVar("C_contra", bound=TechniqueConfig, contravariant=True)
R_co = TypeVar("R_co", bound=TechniqueResult, covariant=True)

_PRESETS = ("reduced", "full")


class TechniqueRunner(Protocol[C_contra, R_co]):
    """What :func:`technique` makes of a technique's body: run it against ``model``
    behind ``client``'s gateway (the config class's defaults when ``config`` is None)."""

    def __call__(
        self,
        client: WhiteboxClient,
        model: str,
        config: C_contra | None = None,
        *,
        progress: Progress | None = None,
    ) -> R_co: ...


@dataclass(frozen=True)
class TechniqueSpec:
    """A technique: its config class, its reduced and full configs, and how to run it.

    ``run(client, model, config, progress=None)`` returns a :class:`TechniqueResult`.
    """

    name: str
    title: str
    paper: str
    config_class: type[TechniqueConfig]
    run: TechniqueRunner[Any, TechniqueResult]

    @property
    def reduced(self) -> TechniqueConfig:
        return self.config_class.reduced()

    @property
    def full(self) -> TechniqueConfig:
        return self.config_class.full()

    def parse_config(
        self, config: TechniqueConfig | Mapping[str, Any] | str | None = None
    ) -> TechniqueConfig:
        """A config from an instance, a mapping (plan YAML; ``preset: reduced`` or ``full``
        in it starts from that preset), ``"reduced"``/``"full"``, or None (the defaults);
        bad fields become one UsageError naming each."""
        if config is None:
            return self.config_class()
        if isinstance(config, str):
            return self._preset(config)
        if isinstance(config, TechniqueConfig):
            if not isinstance(config, self.config_class):
                raise UsageError(
                    f"{self.name} needs a {self.config_class.__name__}, got {type(config).__name__}"
                )
            return config
        fields = dict(config)
        preset = fields.pop("preset", None)
        if preset is not None:
            fields = {**self._preset(preset).model_dump(exclude_unset=False), **fields}
        try:
            return self.config_class.model_validate(fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors()
            )
            raise UsageError(f"{self.name} configuration: {problems}") from None

    def _preset(self, preset: object) -> TechniqueConfig:
        if preset not in _PRESETS:
            raise UsageError(f"{self.name}: unknown preset {preset!r}", hint="use reduced or full")
        return self.reduced if preset == "reduced" else self.full


TECHNIQUES: dict[str, TechniqueSpec] = {}
"""Every registered technique by name (filled as ``assay.techniques`` imports them)."""


def technique(
    *, name: str, title: str, paper: str, config: type[C], headline: str
) -> Callable[[Callable[[TechniqueRun[C]], R]], TechniqueRunner[C, R]]:
    """Register a technique under ``name``.

    The decorated body takes a :class:`TechniqueRun` and returns its result (usually
    ``run.result(...)``); the decorator turns it into the public runner
    ``fn(client, model, config=None, *, progress=None)`` and adds a
    :class:`TechniqueSpec` to :data:`TECHNIQUES`. ``config`` is the technique's config
    class, ``paper`` the method it follows, ``headline`` the name of the headline
    metric (reported without a value when the run measures nothing).
    """
    config_class = config

    def register(body: Callable[[TechniqueRun[C]], R]) -> TechniqueRunner[C, R]:
        if name in TECHNIQUES:
            raise ValueError(f"technique {name!r} is already registered")

        def runner(
            client: WhiteboxClient,
            model: str,
            config: C | None = None,
            *,
            progress: Progress | None = None,
        ) -> R:
            run = TechniqueRun(
                name=name,
                title=title,
                client=client,
                model=model,
                config=config or config_class(),
                headline=Headline(name=headline, value=None),
                progress=progress,
            )
            return body(run)

        runner.__name__, runner.__qualname__ = body.__name__, body.__qualname__
        runner.__module__, runner.__doc__ = body.__module__, body.__doc__
        TECHNIQUES[name] = TechniqueSpec(name, title, paper, config_class, runner)
        return runner

    return register


def run_technique(
    name: str,
    client: WhiteboxClient,
    model: str,
    config: TechniqueConfig | Mapping[str, Any] | str | None = None,
    *,
    progress: Progress | None = None,
) -> TechniqueResult:
    """Run technique ``name`` against ``model`` behind ``client``'s gateway."""
    spec = TECHNIQUES.get(name)
    if spec is None:
        raise UsageError(
            f"unknown technique {name!r}", hint=f"use one of {', '.join(sorted(TECHNIQUES))}"
        )
    return spec.run(client, model, spec.parse_config(config), progress=progress)
