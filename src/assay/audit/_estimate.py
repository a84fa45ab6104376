"""What an audit will cost before it runs (``assay audit --dry-run``).

The estimate plans the audit with the audit's own planning code
(:func:`~assay.audit._planning.plan_audit`), so it counts exactly the items the audit
would score, then walks each item's solver with a recording stand-in for the model:
the messages of every model call and its ``max_tokens`` are what the suite would
send. Prompt tokens are counted with the target's tokenizer the way the in-process
gateway counts them (or approximated at four characters a token for API targets,
said so in the output). No item runs; the only model work is a short calibration of
this machine's speed on the target, cached per target and machine.

Over 400 lines because counting walks every kind of suite the audit runs (multiple
choice, generation, agent episodes) and calibrates local and API targets; each part is
a short function of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from assay._util.errors import UsageError
from assay._util.hashing import sha256_json
from assay._util.paths import atomic_write_text, cache_dir
from assay.audit._config import AuditConfig
from assay.audit._endpoint import Capabilities, Endpoint, _check_local_folder, open_endpoint
from assay.audit._planning import PlannedSuite, look_order, plan_audit, resolve_plan
from assay.models import TargetSpec, fingerprint_endpoint, parse_target
from assay.tiers import Tier

CHARS_PER_TOKEN = 4  # the approximation for targets whose tokenizer we cannot load
# What the estimate promises: how far the real audit may be from its stated figures.
# Queries and generated-token upper bounds are bounds; prompt tokens counted with the
# target's tokenizer are within PROMPT_TOLERANCE of the real count (the gateway's
# count), approximated ones within APPROX_PROMPT_TOLERANCE; the expected generated
# tokens within GENERATED_TOLERANCE; the wall time within a factor of WALL_FACTOR.
PROMPT_TOLERANCE = 0.02
APPROX_PROMPT_TOLERANCE = 0.5
GENERATED_TOLERANCE = 0.5
WALL_FACTOR = 2.0
# Replies to generation calls are assumed to fill this share of max_tokens on
# average (a small chat model rarely stops early; a refusal does). Stated as such.
EXPECTED_FILL = 0.8
AGENT_FALLBACK_LIMIT = 50  # Inspect's basic_agent stops at 50 messages by default
CALIBRATION_VERSION = 2
CALIBRATION_BATCH = 8
CALIBRATION_NEW_TOKENS = 8


@dataclass
class Range:
    """A figure that may end anywhere between ``low`` and ``high``; ``expected`` is
    the estimate's best guess."""

    low: float
    expected: float
    high: float

    def __add__(self, other: Range) -> Range:
        return Range(self.low + other.low, self.expected + other.expected, self.high + other.high)

    def scaled(self, factor: float) -> Range:
        return Range(self.low * factor, self.expected * factor, self.high * factor)

    def as_json(self) -> dict[str, float]:
        return {"low": self.low, "expected": self.expected, "high": self.high}


ZERO = Range(0, 0, 0)


@dataclass(frozen=True)
class Call:
    """One model call an item makes: its prompt tokens and its ``max_tokens``."""

    prompt_tokens: int
    max_tokens: int


@dataclass
class SuiteEstimate:
    id: str
    method: str
    items: Range  # sequential suites: the first look (low) to every item (high)
    queries: Range
    prompt_tokens: Range
    generated_tokens: Range
    sequential: bool
    approximate: list[str] = field(default_factory=list)  # what is not counted exactly
    seconds: Range = field(default_factory=lambda: Range(0, 0, 0))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "sequential": self.sequential,
            "items": self.items.as_json(),
            "queries": self.queries.as_json(),
            "prompt_tokens": self.prompt_tokens.as_json(),
            "generated_tokens": self.generated_tokens.as_json(),
            "seconds": self.seconds.as_json(),
            "approximate": self.approximate,
        }


@dataclass
class TechniqueEstimate:
    """A white-box technique's budgets: it stops at whichever it reaches first."""

    id: str
    max_queries: int
    max_floats: int
    max_seconds: float


@dataclass
class Calibration:
    """This machine's speed on the target, measured by a few timed calls."""

    kind: Literal["local", "api"]
    measured_at: str
    machine: str
    load_seconds: float = 0.0  # loading the weights (local targets)
    prefill_seconds_per_token: float = 0.0  # a scoring forward pass, per prompt token
    decode_seconds_per_step: float = 0.0  # one generation step of a batch
    batch: int = CALIBRATION_BATCH
    request_seconds: float = 0.0  # API targets: one short request, end to end
    seconds_per_generated_token: float = 0.0  # API targets
    load_average: float = 0.0  # of the machine while measuring (other work slows it)
    cached: bool = False


@dataclass
class Money:
    price_in: float  # per million prompt tokens
    price_out: float  # per million generated tokens
    cost: Range


@dataclass
class Estimate:
    target: str
    plan: str
    tier: str
    tokens_counted_by: str  # "tokenizer of <target>" or the approximation
    suites: list[SuiteEstimate]
    techniques: list[TechniqueEstimate]
    calibration: Calibration | None
    money: Money | None
    notes: list[str]
    seconds_startup: float = 0.0

    @property
    def total(self) -> SuiteEstimate:
        out = SuiteEstimate(
            "total", "", ZERO, ZERO, ZERO, ZERO, any(s.sequential for s in self.suites)
        )
        for s in self.suites:
            out.items = out.items + s.items
            out.queries = out.queries + s.queries
            out.prompt_tokens = out.prompt_tokens + s.prompt_tokens
            out.generated_tokens = out.generated_tokens + s.generated_tokens
            out.seconds = out.seconds + s.seconds
        startup = Range(self.seconds_startup, self.seconds_startup, self.seconds_startup)
        out.seconds = out.seconds + startup
        return out

    def tolerance(self) -> dict[str, str]:
        exact = self.tokens_counted_by.startswith("tokenizer")
        prompt = PROMPT_TOLERANCE if exact else APPROX_PROMPT_TOLERANCE
        return {
            "queries": "the real count lies between low and high (equal to expected for suites "
            "without early stopping or agents)",
            "prompt_tokens": f"the real count lies between low and high, widened by {prompt:.0%}",
            "generated_tokens": "the real count is at most high (max_tokens of every call); "
            f"expected assumes replies fill {EXPECTED_FILL:.0%} of max_tokens and is within "
            f"{GENERATED_TOLERANCE:.0%} for a chat model",
            "seconds": f"within a factor of {WALL_FACTOR:g} on this machine under the same load",
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": "assay-dry-run-1",
            "target": self.target,
            "plan": self.plan,
            "tier": self.tier,
            "tokens_counted_by": self.tokens_counted_by,
            "suites": [s.as_json() for s in self.suites],
            "total": {k: v for k, v in self.total.as_json().items() if k not in ("id", "method")},
            "techniques": [asdict(t) for t in self.techniques],
            "calibration": None if self.calibration is None else asdict(self.calibration),
            "money": None
            if self.money is None
            else {
                "price_in_per_million": self.money.price_in,
                "price_out_per_million": self.money.price_out,
                "cost": self.money.cost.as_json(),
            },
            "tolerance": self.tolerance(),
            "notes": self.notes,
        }


# --- counting tokens -----------------------------------------------------------------


class TokenCounter:
    """Counts prompt tokens the way the in-process gateway does (its own methods, on a
    tokenizer alone), or approximates them when no tokenizer is at hand. Counting many
    prompts at once tokenizes them in one batch: the same ids, far faster."""

    def __init__(self, tokenizer: Any = None) -> None:
        self.tokenizer = tokenizer

    @property
    def exact(self) -> bool:
        return self.tokenizer is not None

    def text(self, text: str) -> int:
        return self.texts([text])[0]

    def chat(self, messages: Sequence[tuple[str, str]]) -> int:
        return self.chats([messages])[0]

    def texts(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each raw prompt, as the gateway's ``LocalBackend.encode`` counts
        (with special tokens)."""
        if self.tokenizer is None:
            return [max(1, round(len(t) / CHARS_PER_TOKEN)) for t in texts]
        return self._batch(list(texts), add_special_tokens=True)

    def chats(self, conversations: Sequence[Sequence[tuple[str, str]]]) -> list[int]:
        """Tokens of each conversation, as the gateway's ``LocalBackend.chat_prompt_ids``
        counts: its own chat rendering, tokenized without special tokens."""
        if self.tokenizer is None or not getattr(self.tokenizer, "chat_template", None):
            # a role marker and separators per message, roughly
            return [
                sum(4 + max(1, round(len(t) / CHARS_PER_TOKEN)) for _, t in messages) + 2
                for messages in conversations
            ]
        from assay.gateway._prompts import render_chat
        from assay.gateway._protocol import ChatMessage

        rendered = [
            render_chat(
                self.tokenizer, "target", [ChatMessage(role=r, content=t) for r, t in messages]
            )
            for messages in conversations
        ]
        return self._batch(rendered, add_special_tokens=False)

    def _batch(self, texts: list[str], *, add_special_tokens: bool) -> list[int]:
        if not texts:
            return []
        ids = self.tokenizer(texts, add_special_tokens=add_special_tokens)["input_ids"]
        return [len(i) for i in ids]


# --- what each item sends --------------------------------------------------------------


@dataclass
class _Recorded:
    messages: list[tuple[str, str]]
    max_tokens: int | None


class _NeedsModel(Exception):
    """The solver calls the model itself (an agent loop), not through ``generate``."""


async def _record_calls(
    task: Any, samples: Sequence[Any], emulate_tools: bool
) -> tuple[list[list[_Recorded]], bool]:
    """Each sample's model calls, by running the task's solver with a stand-in for
    ``generate`` that records the messages and ``max_tokens`` and answers a fixed
    text. An agent loop calls the model itself (Inspect's ``get_model()``, which has no
    model outside an eval): then only its first call is recorded, from the state the
    agent's set-up left (system prompt, tools), and the flag says so."""
    from inspect_ai.model import ChatMessageUser, ModelOutput
    from inspect_ai.solver import TaskState

    default_max = task.config.max_tokens
    results: list[list[_Recorded]] = []
    agent = False
    for sample in samples:
        calls: list[_Recorded] = []

        async def generate(
            state: Any, *_args: Any, calls: list[_Recorded] = calls, **kwargs: Any
        ) -> Any:
            calls.append(
                _Recorded(
                    [(m.role, m.text) for m in state.messages],
                    kwargs.get("max_tokens", default_max),
                )
            )
            state.output = ModelOutput.from_content("assay-dry-run", "(not run)")
            state.messages.append(state.output.message)
            return state

        messages = (
            [ChatMessageUser(content=sample.input)]
            if isinstance(sample.input, str)
            else list(sample.input)
        )
        state = TaskState(
            model="assay/dry-run",  # type: ignore[arg-type]
            sample_id=sample.id,
            epoch=1,
            input=sample.input,
            messages=messages,
            metadata=dict(sample.metadata or {}),
        )
        try:
            await task.solver(state, generate)
        except ValueError as exc:
            if "No model specified" not in str(exc):
                raise
            agent = True
            sent = await _as_sent(state.messages, state.tools, emulate_tools)
            calls.append(_Recorded(sent, default_max))
        results.append(calls)
    return results, agent


async def _as_sent(
    messages: list[Any], tools: list[Any], emulate_tools: bool
) -> list[tuple[str, str]]:
    """The messages as the OpenAI-compatible provider sends them: with emulated tools,
    Inspect writes the tools' descriptions into a system message."""
    if not (emulate_tools and tools):
        return [(m.role, m.text) for m in messages]
    from inspect_ai.model import ChatMessageTool
    from inspect_ai.model._providers.util.chatapi import chat_api_messages_for_handler
    from inspect_ai.model._providers.util.llama31 import Llama31Handler
    from inspect_ai.tool import ToolInfo
    from inspect_ai.tool._tool_def import tool_defs

    handler: Llama31Handler
    if any(isinstance(m, ChatMessageTool) for m in messages):
        # the provider's handler differs from its base only in writing tool results;
        # importing it imports the OpenAI SDK (a second), so only when there are some
        from inspect_ai.model._providers.openai_compatible import OpenAICompatibleHandler

        handler = OpenAICompatibleHandler("assay")
    else:
        handler = Llama31Handler("assay")
    infos = [
        ToolInfo(name=d.name, description=d.description, parameters=d.parameters)
        for d in await tool_defs(tools)
    ]
    sent = chat_api_messages_for_handler(messages, infos, handler)
    return [(m.role, m.text) for m in sent]


def _agent_message_limit(p: PlannedSuite) -> int:
    limit = p.params.get("message_limit")
    if limit is None:
        parameter = inspect.signature(p.spec.build).parameters.get("message_limit")
        limit = parameter.default if parameter is not None else None
    return int(limit) if isinstance(limit, int) else AGENT_FALLBACK_LIMIT


def _agent_max_tokens(p: PlannedSuite) -> int:
    return int(p.params.get("max_tokens") or p.task.config.max_tokens or 512)


def _suite_calls(
    p: PlannedSuite, samples: Sequence[Any], counter: TokenCounter
) -> tuple[list[list[Call]], list[str]]:
    """Per sample (in the order given), its model calls; and what is approximate."""
    emulate = bool(p.model_args.get("emulate_tools"))
    recorded, agent = asyncio.run(_record_calls(p.task, samples, emulate))
    approximate: list[str] = []
    if agent:
        # one call per turn, up to the turns its message limit allows; the first turn's
        # prompt is counted, each later one grows by at most a full reply and a tool
        # result of the same size
        turns = max(1, (_agent_message_limit(p) - 1) // 2)
        max_tokens = _agent_max_tokens(p)
        approximate.append(
            f"agent: 1 to {turns} calls per item (message limit); prompts after the "
            "first turn approximated"
        )
        firsts = counter.chats([sample_calls[0].messages for sample_calls in recorded])
        calls = [
            [Call(first + k * 2 * max_tokens, max_tokens) for k in range(turns)] for first in firsts
        ]
        return calls, approximate
    flat = [call for sample_calls in recorded for call in sample_calls]
    if p.provider == "completions":
        counts = counter.texts(["\n".join(t for _, t in call.messages) for call in flat])
    else:
        counts = counter.chats([call.messages for call in flat])
    tokens = iter(counts)
    out = [
        [Call(next(tokens), int(call.max_tokens or 512)) for call in sample_calls]
        for sample_calls in recorded
    ]
    return out, approximate


def _items_figures(calls: Sequence[Sequence[Call]]) -> tuple[int, int, float, int]:
    queries = sum(len(c) for c in calls)
    prompt = sum(call.prompt_tokens for c in calls for call in c)
    generated_high = sum(call.max_tokens for c in calls for call in c)
    generated_expected = sum(_expected_reply(call.max_tokens) for c in calls for call in c)
    return queries, prompt, generated_expected, generated_high


def _expected_reply(max_tokens: int) -> float:
    return float(max_tokens) if max_tokens <= 1 else EXPECTED_FILL * max_tokens


def estimate_suite(p: PlannedSuite, counter: TokenCounter, seed: int) -> SuiteEstimate:
    """The figures of one planned suite; a sequential suite ranges from stopping at
    its first look (in the seeded order it scores items in) to running every item."""
    wanted = set(p.sample_ids)
    by_id = {str(s.id): s for s in p.samples if str(s.id) in wanted}
    order = look_order(p, seed) if p.design is not None else list(p.sample_ids)
    samples = [by_id[i] for i in order if i in by_id]
    calls, approximate = _suite_calls(p, samples, counter)
    n = len(samples)
    first = n if p.design is None else min(n, p.design.looks[0])
    q_all, pt_all, ge_all, gh_all = _items_figures(calls)
    q_first, pt_first, ge_first, gh_first = _items_figures(calls[:first])
    agent = bool(approximate)
    if agent:  # fewest turns: one call per item
        q_low = first
        pt_low = sum(c[0].prompt_tokens for c in calls[:first])
        g_low = float(first)
        # expected: half the turns, replies filling EXPECTED_FILL of max_tokens
        half = [c[: max(1, (len(c) + 1) // 2)] for c in calls]
        q_exp, pt_exp, ge_exp, _ = _items_figures(half)
    else:
        q_low, pt_low, g_low = q_first, pt_first, float(min(ge_first, gh_first))
        q_exp, pt_exp, ge_exp = q_all, pt_all, ge_all
    if not counter.exact:
        approximate.append(f"prompt tokens approximated ({CHARS_PER_TOKEN} characters a token)")
    return SuiteEstimate(
        id=p.spec.id,
        method=p.method,
        items=Range(first, n, n),
        queries=Range(q_low, q_exp, q_all),
        prompt_tokens=Range(pt_low, pt_exp, pt_all),
        generated_tokens=Range(g_low, ge_exp, gh_all),
        sequential=p.design is not None,
        approximate=approximate,
    )


# --- the machine's speed -------------------------------------------------------------


def _machine() -> str:
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return f"{platform.node()}/{platform.machine()}/{os.cpu_count()}cpu/{threads}"


def _load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not offered on this platform
        return 0.0


def _calibration_path() -> Path:
    return cache_dir() / "dry-run-calibration.json"


def _calibration_key(spec: TargetSpec, model: str) -> str:
    return sha256_json(
        {"v": CALIBRATION_VERSION, "target": str(spec), "model": model, "machine": _machine()}
    )


def _cached_calibration(key: str) -> Calibration | None:
    path = _calibration_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = data[key]
        return Calibration(**{**entry, "cached": True})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store_calibration(key: str, calibration: Calibration) -> None:
    path = _calibration_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[key] = {k: v for k, v in asdict(calibration).items() if k != "cached"}
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True))


def calibrate_local(spec: TargetSpec, prompt: str) -> Calibration:
    """Load the target's weights and time a batched scoring pass and a short batched
    generation on ``prompt`` (a prompt of the plan)."""
    import torch

    from assay.models import load_target_model

    started = time.perf_counter()
    local = load_target_model(spec, show_progress=False)
    load_seconds = time.perf_counter() - started
    tokenizer, model = local.tokenizer, local.model
    ids = tokenizer([prompt] * CALIBRATION_BATCH, return_tensors="pt")
    length = int(ids["input_ids"].shape[1])
    with torch.inference_mode():
        model(**ids)  # warm up
        runs = []
        for _ in range(2):
            t = time.perf_counter()
            model(**ids)
            runs.append(time.perf_counter() - t)
        prefill = min(runs)
        t = time.perf_counter()
        model.generate(
            **ids,
            max_new_tokens=CALIBRATION_NEW_TOKENS,
            min_new_tokens=CALIBRATION_NEW_TOKENS,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
        generate = time.perf_counter() - t
    return Calibration(
        kind="local",
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=_machine(),
        load_average=_load_average(),
        load_seconds=load_seconds,
        prefill_seconds_per_token=prefill / (CALIBRATION_BATCH * length),
        decode_seconds_per_step=max(generate - prefill, 0.0) / CALIBRATION_NEW_TOKENS,
    )


def calibrate_api(endpoint: Endpoint) -> Calibration:
    """Time two short chat requests to the endpoint (16 generated tokens each)."""
    import httpx

    durations = []
    tokens = []
    with httpx.Client(
        base_url=endpoint.base_url,
        headers={"Authorization": f"Bearer {endpoint.api_key}"},
        timeout=120.0,
    ) as client:
        for _ in range(2):
            t = time.perf_counter()
            response = client.post(
                "/chat/completions",
                json={
                    "model": endpoint.model,
                    "messages": [{"role": "user", "content": "Count from one to twenty."}],
                    "max_tokens": 16,
                    "temperature": 0,
                },
            )
            durations.append(time.perf_counter() - t)
            usage = response.json().get("usage", {}) if response.status_code == 200 else {}
            tokens.append(int(usage.get("completion_tokens") or 16))
    seconds = statistics.median(durations)
    return Calibration(
        kind="api",
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=_machine(),
        load_average=_load_average(),
        request_seconds=seconds,
        seconds_per_generated_token=seconds / max(1, statistics.median(tokens)),
    )


def _suite_seconds(s: SuiteEstimate, c: Calibration, concurrency: int) -> Range:
    """Seconds for a suite's figures at the calibrated speed: locally, scoring passes
    cost their prompt tokens and generation its tokens at the calibrated batch; API
    requests run ``concurrency`` at a time."""
    if c.kind == "api":
        per_call = Range(c.request_seconds, c.request_seconds, c.request_seconds)
        gen = s.generated_tokens.scaled(c.seconds_per_generated_token)
        calls = Range(
            s.queries.low * per_call.low,
            s.queries.expected * per_call.expected,
            s.queries.high * per_call.high,
        )
        return (calls + gen).scaled(1 / concurrency)
    prefill = s.prompt_tokens.scaled(c.prefill_seconds_per_token)
    steps = Range(
        max(0.0, s.generated_tokens.low - s.queries.low),
        max(0.0, s.generated_tokens.expected - s.queries.expected),
        max(0.0, s.generated_tokens.high - s.queries.high),
    )  # the first token of a reply comes with the scoring pass
    # per generated token at the calibrated batch (the gateway batches up to 16)
    decode = steps.scaled(c.decode_seconds_per_step / c.batch)
    return prefill + decode


# --- the whole estimate ------------------------------------------------------------------


def _local_endpoint(spec: TargetSpec, tier: Tier, name: str) -> Endpoint:
    """What the in-process gateway offers a token of ``tier``, without starting it: chat
    and completions, with logprobs from grey tier up (what :func:`probe` finds)."""
    grey = tier.allows(Tier.GREY)
    return Endpoint(
        spec=spec,
        base_url="",
        api_key="",
        model=name,
        fingerprint=fingerprint_endpoint("in-process", name),
        capabilities=Capabilities(
            chat=True,
            chat_logprobs=grey,
            completions=True,
            completion_logprobs=grey,
            granted_tier=tier,
        ),
        in_process=True,
    )


def _local_tokenizer(spec: TargetSpec) -> tuple[Any, str]:
    """The tokenizer of a local target (no weights loaded) and the model's name."""
    from assay._util.hf import quiet_transformers
    from assay.models import TargetKind

    quiet_transformers()
    if spec.kind is TargetKind.BUILTIN:
        from assay.models import provision_builtin

        path = provision_builtin(spec.location, show_progress=False)
        name = spec.location
    else:
        path = Path(spec.location).expanduser()
        name = path.name
    if (path / "tokenizer.json").is_file():
        # the fast tokenizer alone: AutoTokenizer would read the model's config and
        # import torch with it (seconds), for the same tokenizer.json and chat template
        from transformers import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast.from_pretrained(str(path)), name
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path)), name


def estimate_audit(
    config: AuditConfig,
    console: Console | None = None,
    *,
    price_in: float | None = None,
    price_out: float | None = None,
    calibrate: bool = True,
    say: Callable[[str], None] = lambda _phase: None,
) -> Estimate:
    """Plan ``config``'s audit as :func:`~assay.audit.run_audit` would and estimate what
    running it costs; nothing is scored and nothing is written to ``config.out``."""
    if (price_in is None) != (price_out is None):
        raise UsageError(
            "give both --price-in and --price-out (per million tokens), or neither",
            hint="e.g. --price-in 0.15 --price-out 0.60",
        )
    for name, value in (("--price-in", price_in), ("--price-out", price_out)):
        if value is not None and not (value >= 0 and value < float("inf")):
            raise UsageError(f"{name} must be a price per million tokens, 0 or more; got {value}")
    console = console or Console(stderr=True)
    config, plan, suite_specs = resolve_plan(config)
    spec = parse_target(config.target)
    notes: list[str] = []
    startup = 0.0
    calibration: Calibration | None = None
    opened: contextlib.AbstractContextManager[Any]
    if spec.is_local:
        _check_local_folder(spec)
        say(f"loading the tokenizer of {spec}")
        tokenizer, name = _local_tokenizer(spec)
        counter = TokenCounter(tokenizer)
        counted_by = f"tokenizer of {spec}"
        opened = contextlib.nullcontext(_local_endpoint(spec, config.tier, name))
    else:
        counter = TokenCounter(None)
        counted_by = (
            f"approximation: {CHARS_PER_TOKEN} characters a token (no tokenizer for {spec})"
        )
        opened = open_endpoint(
            spec,
            tier=config.tier,
            model=config.model,
            api_key_env=config.api_key_env,
            show_progress=False,
            on_phase=say,
            fingerprint_behaviour=False,
        )
    with opened as endpoint:
        run = plan_audit(
            config,
            plan,
            suite_specs,
            endpoint,
            console,
            notes=notes,
            started=datetime.now(UTC),
            say=say,
        )
        estimates = [estimate_suite(p, counter, config.seed) for p in run.planned]
        if calibrate:
            key = _calibration_key(spec, name if spec.is_local else endpoint.model)
            calibration = _cached_calibration(key)
            if calibration is None and spec.is_local:
                say(
                    "calibrating (the first dry run on this machine does, later ones reuse it): "
                    "timing a few forward passes and a short generation"
                )
                calibration = calibrate_local(spec, _a_prompt(run.planned))
                _store_calibration(key, calibration)
            elif calibration is None:
                say(
                    "calibrating (the first dry run for this endpoint does, later ones "
                    "reuse it): timing two short requests"
                )
                calibration = calibrate_api(endpoint)
                _store_calibration(key, calibration)
    if spec.is_local:
        startup = calibration.load_seconds if calibration is not None else 0.0
    else:
        notes.append(
            "probed the endpoint (a few one-token requests) to learn which methods the suites use"
        )
    if calibration is not None:
        concurrency = config.max_connections if spec.is_local else min(config.max_connections, 10)
        for s in estimates:
            s.seconds = _suite_seconds(s, calibration, concurrency)
    techniques = []
    if plan.techniques:
        from assay.techniques import TECHNIQUES

        for entry in plan.techniques:
            tc = TECHNIQUES[entry.id].parse_config(entry.config)
            techniques.append(
                TechniqueEstimate(entry.id, tc.max_queries, tc.max_floats, tc.max_seconds)
            )
        notes.append(
            "white-box techniques are counted by their budgets (upper bounds), not in the "
            "suite totals"
        )
    money = None
    if price_in is not None and price_out is not None:
        total = Estimate(
            config.target, plan.name, run.tier.value, counted_by, estimates, [], None, None, []
        ).total
        cost = Range(
            (total.prompt_tokens.low * price_in + total.generated_tokens.low * price_out) / 1e6,
            (total.prompt_tokens.expected * price_in + total.generated_tokens.expected * price_out)
            / 1e6,
            (total.prompt_tokens.high * price_in + total.generated_tokens.high * price_out) / 1e6,
        )
        money = Money(price_in, price_out, cost)
    return Estimate(
        target=config.target,
        plan=plan.name,
        tier=run.tier.value,
        tokens_counted_by=counted_by,
        suites=estimates,
        techniques=techniques,
        calibration=calibration,
        money=money,
        notes=notes,  # plan_audit added its notes to this list
        seconds_startup=startup,
    )


def _a_prompt(planned: Sequence[PlannedSuite]) -> str:
    """A typical prompt of the plan for calibration: the first item's input."""
    for p in planned:
        for sample in p.samples:
            if isinstance(sample.input, str):
                return sample.input
    return "The following are multiple choice questions (with answers) about biology."


# --- printing --------------------------------------------------------------------------


def _span(r: Range, digits: int = 0) -> str:
    def f(x: float) -> str:
        return f"{x:,.{digits}f}"

    return f(r.high) if round(r.low, digits) == round(r.high, digits) else f"{f(r.low)}-{f(r.high)}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


_MEASURED_NOW = "measured now: the first dry run calibrates, later ones reuse it"


def print_estimate(estimate: Estimate, console: Console | None = None) -> None:
    """The estimate as tables and a few stated assumptions, on stdout."""
    from rich.table import Table

    from assay._util.console import table_console

    console = console or table_console()
    console.print(
        f"Dry run of plan {estimate.plan!r} on {estimate.target} at {estimate.tier} tier: "
        "nothing was scored. Ranges run from stopping at the first look (sequential "
        "suites) or the fewest agent turns, to every item and call."
    )
    table = Table(
        "suite",
        "method",
        "items",
        "queries",
        "prompt tokens",
        "generated tokens (expected / max)",
        "wall time",
    )
    rows = [*estimate.suites, estimate.total]
    for s in rows:
        is_total = s is rows[-1]
        table.add_row(
            ("[bold]total[/]" if is_total else s.id)
            + ("" if is_total or not s.approximate else " *"),
            s.method,
            _span(s.items),
            _span(s.queries),
            _span(s.prompt_tokens),
            f"{s.generated_tokens.expected:,.0f} / {s.generated_tokens.high:,.0f}",
            "-"
            if estimate.calibration is None
            else (
                _duration(s.seconds.high)
                if round(s.seconds.low) == round(s.seconds.high)
                else f"{_duration(s.seconds.low)}-{_duration(s.seconds.high)}"
            ),
            end_section=s is rows[-2],
        )
    console.print(table)
    for s in estimate.suites:
        for what in s.approximate:
            console.print(f"* {s.id}: {what}")
    console.print(f"Prompt tokens counted with the {estimate.tokens_counted_by}.")
    if estimate.techniques:
        techniques = Table("white-box technique", "max queries", "max floats", "max seconds")
        for t in estimate.techniques:
            techniques.add_row(
                t.id, f"{t.max_queries:,}", f"{t.max_floats:,}", f"{t.max_seconds:,.0f}"
            )
        console.print(techniques)
    c = estimate.calibration
    if c is None:
        console.print("Wall time: not estimated (--no-calibrate).")
    elif c.kind == "local":
        console.print(
            f"Wall time is an estimate from a short calibration on this machine "
            f"({'cached from ' + c.measured_at if c.cached else _MEASURED_NOW}): a scoring pass "
            f"costs {c.prefill_seconds_per_token * 1e3:.2f} ms per prompt token, a generation "
            f"step at batch {c.batch} {c.decode_seconds_per_step * 1e3:.0f} ms; loading the "
            f"model {c.load_seconds:.1f} s; load average {c.load_average:g} on "
            f"{os.cpu_count()} cores while measuring. Other load on the machine slows it."
        )
    else:
        console.print(
            f"Wall time is an estimate from two timed requests to the endpoint "
            f"({'cached from ' + c.measured_at if c.cached else _MEASURED_NOW}): "
            f"{c.request_seconds:.2f} s each (load average here {c.load_average:g})."
        )
    if estimate.money is not None:
        m = estimate.money
        console.print(
            f"Cost at {m.price_in:g} per million prompt tokens and {m.price_out:g} per million "
            f"generated: {m.cost.low:,.4f} to {m.cost.high:,.4f} (expected {m.cost.expected:,.4f})."
        )
    console.print(
        "Tolerance: " + "; ".join(f"{k}: {v}" for k, v in estimate.tolerance().items()) + "."
    )
    for note in estimate.notes:
        console.print(f"note: {note}")
