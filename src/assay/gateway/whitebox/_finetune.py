"""LoRA fine-tuning jobs that run on the gateway and never let their adapters out.

A job trains a new LoRA adapter on tester-supplied examples, one optimizer step at
a time on the model thread, so inference keeps being served between steps. The
finished adapter is saved under the gateway's data directory and served as the
model variant ``MODEL@SUFFIX`` to tokens of the job's engagement only; no route
returns adapter weights.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from assay.gateway._db import JobRow, aware, serialized, utcnow
from assay.gateway._errors import GatewayError, bad_request
from assay.gateway.whitebox._hooks import is_peft
from assay.gateway.whitebox._protocol import (
    FineTuneExample,
    FineTuneHyperparameters,
    FineTuneJob,
    LossPoint,
)

logger = logging.getLogger("assay.gateway.finetune")

RunOnModel = Callable[[Callable[[], Any]], Awaitable[Any]]


@dataclass
class _Tokenized:
    input_ids: list[int]
    labels: list[int]


@dataclass
class _Running:
    job_id: str
    examples: list[_Tokenized]
    hyper: FineTuneHyperparameters
    optimizer: torch.optim.Optimizer | None = None
    generator: torch.Generator = field(default_factory=torch.Generator)
    started: float = field(default_factory=time.monotonic)


class FineTuneManager:
    """Creates, runs, persists and resolves fine-tuning jobs for one local backend."""

    def __init__(
        self,
        *,
        engine: Engine,
        adapters_dir: Path,
        base_name: str,
        tokenizer: Any,
        get_model: Callable[[], Any],
        set_model: Callable[[Any], None],
        run_on_model: RunOnModel,
        max_examples: int = 2000,
    ) -> None:
        self.db = engine
        self.adapters_dir = adapters_dir
        self.base_name = base_name
        self.tokenizer = tokenizer
        self.get_model = get_model
        self.set_model = set_model
        self.run_on_model = run_on_model
        self.max_examples = max_examples
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._loaded: set[str] = set()

    # ---- variants -------------------------------------------------------------------

    def variant_name(self, suffix: str) -> str:
        return f"{self.base_name}@{suffix}"

    def resolve(self, model: str, engagement: str) -> str | None:
        """The adapter (job id) behind ``MODEL@SUFFIX`` for this engagement; ``None``
        for the base model. Unknown variants and other engagements' variants are 404."""
        if "@" not in model:
            return None
        base, suffix = model.split("@", 1)
        not_found = GatewayError(
            404, f"model {model!r} is not served here", code="model_not_found", param="model"
        )
        if base != self.base_name:
            raise not_found
        with serialized(self.db), Session(self.db) as session:
            row = session.scalars(
                select(JobRow).where(JobRow.engagement == engagement, JobRow.adapter == suffix)
            ).first()
        if row is None:
            raise not_found
        if row.status != "succeeded":
            raise GatewayError(
                409,
                f"{model!r} is not ready: its job is {row.status}",
                code="adapter_not_ready",
                param="model",
            )
        if row.id not in self._loaded:
            raise GatewayError(
                503,
                f"{model!r} is not loaded on this gateway",
                code="adapter_not_loaded",
                param="model",
            )
        return row.id

    def variants(self, engagement: str) -> list[str]:
        with serialized(self.db), Session(self.db) as session:
            rows = session.scalars(
                select(JobRow).where(JobRow.engagement == engagement, JobRow.status == "succeeded")
            ).all()
        return [self.variant_name(r.adapter) for r in rows if r.id in self._loaded]

    async def load_saved(self) -> None:
        """Load adapters of finished jobs from disk (after a restart)."""
        with serialized(self.db), Session(self.db) as session:
            rows = session.scalars(select(JobRow).where(JobRow.status == "succeeded")).all()
        for row in rows:
            path = self.adapters_dir / row.id
            if path.is_dir():
                await self.run_on_model(functools.partial(self._load_adapter, row.id, path))

    def _load_adapter(self, job_id: str, path: Path) -> None:
        from peft import PeftModel

        model = self.get_model()
        if is_peft(model):
            model.load_adapter(str(path), adapter_name=job_id, is_trainable=False)
        else:
            model = PeftModel.from_pretrained(
                model, str(path), adapter_name=job_id, is_trainable=False
            )
            self.set_model(model)
        model.eval()
        self._loaded.add(job_id)

    # ---- jobs -------------------------------------------------------------------------

    async def create(
        self,
        *,
        engagement: str,
        token_id: str,
        examples: list[FineTuneExample],
        hyper: FineTuneHyperparameters,
        suffix: str | None,
    ) -> FineTuneJob:
        if len(examples) > self.max_examples:
            raise bad_request(
                f"at most {self.max_examples} training examples per job", param="training_data"
            )
        job_id = "ftjob-" + secrets.token_hex(8)
        adapter = suffix or job_id
        with serialized(self.db), Session(self.db) as session:
            clash = session.scalars(
                select(JobRow).where(JobRow.engagement == engagement, JobRow.adapter == adapter)
            ).first()
        if clash is not None:
            raise bad_request(
                f"this engagement already has a variant named {adapter!r}", param="suffix"
            )
        tokenized = [self._tokenize(e, hyper.max_length) for e in examples]
        tokenized = [t for t in tokenized if any(label != -100 for label in t.labels)]
        if not tokenized:
            raise bad_request(
                "no example has completion tokens left after truncation", param="training_data"
            )
        now = utcnow()
        row = JobRow(
            id=job_id,
            engagement=engagement,
            token_id=token_id,
            model=self.base_name,
            adapter=adapter,
            status="queued",
            created_at=now,
            updated_at=now,
            hyperparameters=hyper.model_dump(),
            n_examples=len(tokenized),
            losses=[],
            error=None,
        )
        with serialized(self.db), Session(self.db) as session, session.begin():
            session.add(row)
        running = _Running(job_id=job_id, examples=tokenized, hyper=hyper)
        running.generator.manual_seed(hyper.seed)
        self._tasks[job_id] = asyncio.get_running_loop().create_task(self._run(running))
        return self.get(job_id, engagement)

    def get(self, job_id: str, engagement: str) -> FineTuneJob:
        with serialized(self.db), Session(self.db) as session:
            row = session.get(JobRow, job_id)
            if row is None or row.engagement != engagement:
                raise GatewayError(404, f"no fine-tuning job {job_id!r}", code="job_not_found")
            return self._describe(row)

    def list(self, engagement: str) -> list[FineTuneJob]:
        with serialized(self.db), Session(self.db) as session:
            rows = session.scalars(
                select(JobRow).where(JobRow.engagement == engagement).order_by(JobRow.created_at)
            ).all()
            return [self._describe(r) for r in rows]

    async def wait(self, job_id: str) -> None:
        task = self._tasks.get(job_id)
        if task is not None:
            await task

    def _describe(self, row: JobRow) -> FineTuneJob:
        hyper = FineTuneHyperparameters(
            **{k: v for k, v in row.hyperparameters.items() if not k.startswith("_")}
        )
        losses = [LossPoint(step=int(p["step"]), loss=float(p["loss"])) for p in row.losses]
        seconds = row.hyperparameters.get("_seconds")
        return FineTuneJob(
            id=row.id,
            model=row.model,
            fine_tuned_model=self.variant_name(row.adapter),
            status=row.status,
            created_at=int(aware(row.created_at).timestamp()),
            updated_at=int(aware(row.updated_at).timestamp()),
            hyperparameters=hyper,
            training_examples=row.n_examples,
            steps_done=len(losses),
            losses=losses,
            seconds=float(seconds) if seconds is not None else None,
            error=row.error,
        )

    def _update(self, job_id: str, **values: Any) -> None:
        with serialized(self.db), Session(self.db) as session, session.begin():
            row = session.get(JobRow, job_id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utcnow()

    async def _run(self, job: _Running) -> None:
        losses: list[dict[str, float]] = []
        try:
            self._update(job.job_id, status="running")
            await self.run_on_model(lambda: self._attach(job))
            for step in range(1, job.hyper.steps + 1):
                loss = await self.run_on_model(lambda: self._step(job))
                losses.append({"step": step, "loss": loss})
                self._update(job.job_id, losses=list(losses))
            path = self.adapters_dir / job.job_id
            await self.run_on_model(lambda: self._finish(job, path))
            hyper = {**job.hyper.model_dump(), "_seconds": round(time.monotonic() - job.started, 3)}
            self._update(job.job_id, status="succeeded", hyperparameters=hyper)
        except Exception as exc:  # a failed job must not take the gateway down
            logger.exception("fine-tuning job %s failed", job.job_id)
            await self.run_on_model(lambda: self._detach(job))
            self._update(job.job_id, status="failed", error=f"{type(exc).__name__}: {exc}"[:500])

    # ---- model-thread work -----------------------------------------------------------------

    def _attach(self, job: _Running) -> None:
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=job.hyper.lora_r,
            lora_alpha=job.hyper.lora_alpha,
            target_modules=job.hyper.target_modules,
            lora_dropout=0.0,
            bias="none",
            task_type="CAUSAL_LM",
        )
        torch.manual_seed(job.hyper.seed)
        model = self.get_model()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore", FutureWarning
                )  # peft asks transformers a deprecated question
                if is_peft(model):
                    model.add_adapter(job.job_id, config)
                else:
                    model = get_peft_model(model, config, adapter_name=job.job_id)
                    self.set_model(model)
        except ValueError as exc:
            raise bad_request(
                f"cannot attach LoRA adapter: {exc}", param="hyperparameters"
            ) from exc
        params = [p for n, p in model.named_parameters() if f".{job.job_id}." in n]
        for p in params:
            p.requires_grad_(True)
        job.optimizer = torch.optim.AdamW(params, lr=job.hyper.learning_rate)
        model.eval()

    def _step(self, job: _Running) -> float:
        model = self.get_model()
        assert job.optimizer is not None
        order = torch.randint(
            len(job.examples), (job.hyper.batch_size,), generator=job.generator
        ).tolist()
        batch = [job.examples[i] for i in order]
        width = max(len(b.input_ids) for b in batch)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            ids[i, : len(b.input_ids)] = torch.tensor(b.input_ids)
            labels[i, : len(b.labels)] = torch.tensor(b.labels)
            mask[i, : len(b.input_ids)] = 1
        device = next(model.parameters()).device
        model.set_adapter(job.job_id)
        model.train()
        try:
            with torch.enable_grad():
                out = model(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    labels=labels.to(device),
                )
                out.loss.backward()
                job.optimizer.step()
                job.optimizer.zero_grad(set_to_none=True)
        finally:
            model.eval()
        return float(out.loss.detach())

    def _finish(self, job: _Running, path: Path) -> None:
        model = self.get_model()
        path.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(path), selected_adapters=[job.job_id])
        # save_pretrained nests non-default adapters in a sub-folder; flatten for reloading
        nested = path / job.job_id
        if nested.is_dir():
            for item in nested.iterdir():
                item.replace(path / item.name)
            nested.rmdir()
        for p in model.parameters():
            p.requires_grad_(False)
        job.optimizer = None
        self._loaded.add(job.job_id)

    def _detach(self, job: _Running) -> None:
        model = self.get_model()
        if is_peft(model) and job.job_id in getattr(model, "peft_config", {}):
            model.delete_adapter(job.job_id)
        job.optimizer = None

    def _tokenize(self, example: FineTuneExample, max_length: int) -> _Tokenized:
        tok = self.tokenizer
        if example.messages is None:
            assert example.prompt is not None and example.completion is not None
            prompt = list(tok(example.prompt, add_special_tokens=True)["input_ids"])
            completion = list(tok(example.completion, add_special_tokens=False)["input_ids"])
            if tok.eos_token_id is not None:
                completion.append(tok.eos_token_id)
            pair = prompt + completion
            masked = [-100] * len(prompt) + completion
            return _Tokenized(pair[:max_length], masked[:max_length])
        if not getattr(tok, "chat_template", None):
            raise bad_request(
                "this model has no chat template; use prompt/completion examples",
                param="training_data",
            )
        messages = [
            {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
            for m in example.messages
        ]
        ids: list[int] = []
        labels: list[int] = []
        for i, message in enumerate(messages):
            upto = list(
                tok(
                    tok.apply_chat_template(messages[: i + 1], tokenize=False),
                    add_special_tokens=False,
                )["input_ids"]
            )
            if message["role"] == "assistant":
                before = (
                    tok.apply_chat_template(
                        messages[:i], tokenize=False, add_generation_prompt=True
                    )
                    if i
                    else ""
                )
                start = len(tok(before, add_special_tokens=False)["input_ids"]) if before else 0
                start = max(start, len(ids))
                labels += [-100] * (start - len(ids)) + upto[start:]
            else:
                labels += [-100] * (len(upto) - len(ids))
            ids = upto
        return _Tokenized(ids[:max_length], labels[:max_length])
