"""The campaign file: which targets to audit against which plans, and how."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assay._util.errors import UsageError
from assay.audit import Plan, builtin_plan_names, load_plan
from assay.models import parse_target
from assay.suites import get_suite
from assay.tiers import Tier


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CampaignTarget(_Strict):
    """One target of a campaign; a bare string in the file is its ``target``."""

    target: str = Field(description="builtin:NAME, hf:PATH_OR_ID, openai:URL or gateway:URL")
    name: str | None = Field(
        default=None, description="its folder and row label (default: derived from target)"
    )
    model: str | None = Field(default=None, description="model name at an openai:/gateway: URL")
    api_key_env: str | None = Field(default=None, description="variable holding its key or token")
    tier: Tier | None = Field(
        default=None, description="access tier (default: the plan's, or grey)"
    )

    @field_validator("target")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        try:
            parse_target(value)
        except UsageError as exc:
            raise ValueError(exc.one_line()) from None
        return value

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", value):
            raise ValueError(
                "must be a folder name: letters, digits, '.', '_' or '-', starting with a "
                "letter or digit"
            )
        return value

    @property
    def label(self) -> str:
        """The folder (and row) name of this target in the campaign's output."""
        if self.name is not None:
            return self.name
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.target).strip("-.")[:100] or "target"


class Campaign(_Strict):
    """Every target audited against every plan, with the options each audit shares."""

    name: str = "campaign"
    targets: list[CampaignTarget] = Field(min_length=1)
    plans: list[str] = Field(default_factory=lambda: ["quick"], min_length=1)
    suites: list[str] | None = Field(default=None, description="run only these suites")
    limit: int | None = Field(default=None, ge=1, description="at most N items per suite")
    full: bool = False
    seed: int = 0
    max_connections: int = Field(default=32, ge=1, description="concurrent requests per target")
    sequential: bool | None = None

    @field_validator("targets", mode="before")
    @classmethod
    def _bare_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"target": v} if isinstance(v, str) else v for v in value]
        return value


def load_campaign(path: Path) -> tuple[Campaign, list[Plan]]:
    """Read and check a campaign file and load its plans; every problem is a
    :class:`UsageError` naming the field (``targets[1].tier``) and what to do."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read campaign {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(
            f"campaign {path} is not valid YAML{where}", hint="check indentation and quoting"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(
            f"campaign {path} must be a YAML mapping", hint="with targets: and plans: fields"
        )
    try:
        campaign = Campaign.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = _field_path(error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "is not a campaign field"
        elif error["type"] == "missing":
            message = "is required"
        raise UsageError(
            f"campaign {path}: {field}: {message}",
            hint="see docs/campaigns.md for the fields of a campaign file",
        ) from None
    labels: dict[str, int] = {}
    for index, target in enumerate(campaign.targets):
        if target.label in labels:
            raise UsageError(
                f"campaign {path}: targets[{index}].name: {target.label!r} is already the name "
                f"of targets[{labels[target.label]}]",
                hint="give each target a distinct name:",
            )
        labels[target.label] = index
    plans: list[Plan] = []
    for index, name in enumerate(campaign.plans):
        located = name if name in builtin_plan_names() else str(_beside(path, name))
        try:
            plans.append(load_plan(located))
        except UsageError as exc:
            raise UsageError(
                f"campaign {path}: plans[{index}]: {exc.message}", hint=exc.hint
            ) from None
        campaign.plans[index] = located
    names = [p.name for p in plans]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise UsageError(
            f"campaign {path}: plans: two plans are named {duplicate!r}",
            hint="each plan's audits go in a folder named after it; rename one",
        )
    for index, suite in enumerate(campaign.suites or []):
        try:
            get_suite(suite)
        except UsageError as exc:
            raise UsageError(
                f"campaign {path}: suites[{index}]: {exc.message}", hint=exc.hint
            ) from None
    return campaign, plans


def _beside(campaign_file: Path, name: str) -> Path:
    """A plan path is read relative to the campaign file, then to the working directory."""
    candidate = campaign_file.parent / name
    return candidate if candidate.is_file() else Path(name)


def _field_path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text or "(top level)"
