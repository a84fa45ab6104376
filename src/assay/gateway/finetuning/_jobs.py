"""Fine-tuning jobs in the gateway database (``finetune_jobs``), with their training data
files beside the adapters: every state change of a job is one transaction here."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from assay._util.db import aware, serialized
from assay.gateway._db import JobRow, utcnow
from assay.gateway._errors import GatewayError
from assay.gateway.finetuning._protocol import FineTuneHyperparameters, FineTuneJob, LossPoint

logger = logging.getLogger("assay.gateway.finetune")


class JobStore:
    """The jobs of one base model: rows in ``db``, training data under ``jobs_dir``."""

    def __init__(self, db: Engine, base_name: str, jobs_dir: Path) -> None:
        self.db = db
        self.base_name = base_name
        self.jobs_dir = jobs_dir

    def variant_name(self, suffix: str) -> str:
        return f"{self.base_name}@{suffix}"

    def data_path(self, job_id: str) -> Path:
        return self.jobs_dir / f"{job_id}.json"

    # ---- reading ----------------------------------------------------------------------

    def variant(self, engagement: str, suffix: str) -> JobRow | None:
        with serialized(self.db), Session(self.db) as session:
            row = session.scalars(
                select(JobRow).where(JobRow.engagement == engagement, JobRow.adapter == suffix)
            ).first()
            if row is not None:
                session.expunge(row)
            return row

    def ids(self, *statuses: str, engagement: str | None = None) -> list[str]:
        """This model's job ids with one of ``statuses``, oldest first."""
        query = select(JobRow.id).where(JobRow.model == self.base_name, JobRow.status.in_(statuses))
        if engagement is not None:
            query = query.where(JobRow.engagement == engagement)
        with serialized(self.db), Session(self.db) as session:
            return list(session.scalars(query.order_by(JobRow.created_at)).all())

    def finished(self, engagement: str) -> list[tuple[str, str]]:
        """``(job id, adapter name)`` of the engagement's succeeded jobs."""
        with serialized(self.db), Session(self.db) as session:
            rows = session.execute(
                select(JobRow.id, JobRow.adapter).where(
                    JobRow.engagement == engagement, JobRow.status == "succeeded"
                )
            ).all()
            return [(str(r[0]), str(r[1])) for r in rows]

    def get(self, job_id: str, engagement: str) -> FineTuneJob:
        with serialized(self.db), Session(self.db) as session:
            row = session.get(JobRow, job_id)
            if row is None or row.engagement != engagement:
                raise GatewayError(404, f"no fine-tuning job {job_id!r}", code="job_not_found")
            return self._describe(row)

    def of(self, engagement: str) -> list[FineTuneJob]:
        """The engagement's jobs, oldest first."""
        with serialized(self.db), Session(self.db) as session:
            rows = session.scalars(
                select(JobRow).where(JobRow.engagement == engagement).order_by(JobRow.created_at)
            ).all()
            return [self._describe(r) for r in rows]

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

    def running(self) -> list[tuple[str, datetime]]:
        """This model's running jobs and when their gateway last showed life."""
        with serialized(self.db), Session(self.db) as session:
            rows = session.scalars(
                select(JobRow).where(JobRow.model == self.base_name, JobRow.status == "running")
            ).all()
            return [(r.id, aware(r.heartbeat_at or r.updated_at)) for r in rows]

    # ---- writing ----------------------------------------------------------------------

    def add(
        self,
        *,
        job_id: str,
        engagement: str,
        token_id: str,
        adapter: str,
        hyper: FineTuneHyperparameters,
        examples: int,
    ) -> None:
        """A new job, ``queued`` (its data file is already written)."""
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
            n_examples=examples,
            losses=[],
            error=None,
            attempts=0,
        )
        with serialized(self.db), Session(self.db) as session, session.begin():
            session.add(row)

    def update(self, job_id: str, **values: Any) -> None:
        with serialized(self.db), Session(self.db) as session, session.begin():
            row = session.get(JobRow, job_id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utcnow()

    def end(self, job_id: str, status: str, **values: Any) -> None:
        """The job ``succeeded`` or ``failed``; its training data is deleted."""
        self.update(job_id, status=status, claimed_by=None, **values)
        self.data_path(job_id).unlink(missing_ok=True)

    def succeed(self, job_id: str, seconds: float) -> None:
        with serialized(self.db), Session(self.db) as session:
            row = session.get(JobRow, job_id)
            assert row is not None
            hyper = {**row.hyperparameters, "_seconds": round(seconds, 3)}
        self.end(job_id, "succeeded", hyperparameters=hyper)

    def claim(self, instance: str) -> str | None:
        """The oldest queued job, now ``running`` for gateway process ``instance``
        (one conditional update: two processes never claim the same job)."""
        now = utcnow()
        with serialized(self.db), Session(self.db) as session, session.begin():
            candidates = session.scalars(
                select(JobRow.id)
                .where(JobRow.model == self.base_name, JobRow.status == "queued")
                .order_by(JobRow.created_at)
                .limit(8)
            ).all()
            for job_id in candidates:
                claimed = session.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status == "queued")
                    .values(
                        status="running",
                        attempts=JobRow.attempts + 1,
                        claimed_by=instance,
                        heartbeat_at=now,
                        updated_at=now,
                        losses=[],
                    )
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    return job_id
        return None

    def requeue(
        self, job_id: str, *, max_attempts: int, reason: str = "", count_attempt: bool = True
    ) -> None:
        """Queue a running job again from its first step, or fail it when it has had
        ``max_attempts`` starts (``reason`` says why its last one ended)."""
        with serialized(self.db), Session(self.db) as session, session.begin():
            row = session.get(JobRow, job_id)
            if row is None or row.status != "running":
                return
            attempts = row.attempts if count_attempt else max(row.attempts - 1, 0)
            if count_attempt and attempts >= max_attempts:
                row.status = "failed"
                row.error = (
                    f"{reason}; the job was started {attempts} times (the limit is {max_attempts})"
                )[:500]
                logger.error("fine-tuning job %s failed: %s", job_id, row.error)
            else:
                row.status = "queued"
                row.losses = []
                if reason:
                    logger.warning("fine-tuning job %s queued again: %s", job_id, reason)
            row.attempts = attempts
            row.claimed_by = None
            row.updated_at = utcnow()
            failed = row.status == "failed"
        if failed:
            self.data_path(job_id).unlink(missing_ok=True)
