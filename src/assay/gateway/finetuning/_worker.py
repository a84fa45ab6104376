"""The fine-tuning worker: a process of its own that trains LoRA adapters, off the
gateway's inference path.

It loads its own copy of the base weights, uses its own torch thread budget (and runs
at a lower scheduling priority), and talks to the gateway in JSON lines: commands on
stdin (``{"train": {"data": PATH, "out": DIR}}``), events on the stdout it was given
(``ready``, ``step``, ``done``, ``failed``); anything else a library prints goes to
stderr. One job at a time; each starts from freshly loaded base weights. The adapter
is written to ``DIR.partial`` and renamed to ``DIR`` once complete.

    python -m assay.gateway.finetuning._worker --model DIR [--threads 1] [--nice 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import IO, Any

from assay.gateway.finetuning._data import IGNORE, JobData


class JobFailed(Exception):
    """The job cannot be trained (the reason goes to the gateway, the worker goes on)."""


def train(
    model_dir: Path,
    data: JobData,
    out: Path,
    on_step: Any,
    hold: Path | None = None,
) -> float:
    """Train one adapter; ``on_step(step, loss)`` after each optimizer step. Returns
    the seconds it took. ``hold`` is for tests: while that file exists, a step waits
    half-way (after its backward pass), having created ``<hold>.held``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    started = time.monotonic()
    hyper = data.hyperparameters
    torch.manual_seed(hyper.seed)
    base = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    config = LoraConfig(
        r=hyper.lora_r,
        lora_alpha=hyper.lora_alpha,
        target_modules=hyper.target_modules,
        lora_dropout=0.0,
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # peft asks a deprecated question
            model = get_peft_model(base, config)
    except ValueError as exc:
        raise JobFailed(f"cannot attach LoRA adapter: {exc}") from None
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=hyper.learning_rate)
    generator = torch.Generator().manual_seed(hyper.seed)
    examples = data.examples
    for step in range(1, hyper.steps + 1):
        order = torch.randint(len(examples), (hyper.batch_size,), generator=generator).tolist()
        batch = [examples[i] for i in order]
        width = max(len(b.input_ids) for b in batch)
        ids = torch.full((len(batch), width), data.pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            ids[i, : len(b.input_ids)] = torch.tensor(b.input_ids)
            labels[i, : len(b.labels)] = torch.tensor(b.labels)
            mask[i, : len(b.input_ids)] = 1
        model.train()
        with torch.enable_grad():
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            _wait_while(hold)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        on_step(step, float(loss.detach()))
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(str(partial))
    shutil.rmtree(out, ignore_errors=True)
    partial.replace(out)
    return time.monotonic() - started


def _wait_while(hold: Path | None) -> None:
    if hold is None or not hold.exists():
        return
    hold.with_name(hold.name + ".held").touch()
    while hold.exists():
        time.sleep(0.02)


def serve(commands: IO[str], events: IO[str], model_dir: Path, hold: Path | None) -> None:
    """Answer ``train`` commands until stdin closes."""

    def emit(**event: Any) -> None:
        events.write(json.dumps(event) + "\n")
        events.flush()

    emit(event="ready", pid=os.getpid())
    for line in commands:
        try:
            command = json.loads(line)
        except ValueError:
            continue
        if not isinstance(command, dict) or "train" not in command:
            continue
        data_path = Path(command["train"]["data"])
        out = Path(command["train"]["out"])
        try:
            data = JobData.read(data_path)
            seconds = train(
                model_dir,
                data,
                out,
                lambda step, loss, job=data.job_id: emit(
                    event="step", job=job, step=step, loss=loss
                ),
                hold,
            )
        except JobFailed as exc:
            emit(event="failed", job=command["train"]["job"], error=str(exc))
        except Exception as exc:  # a job that fails must not take the worker down
            emit(event="failed", job=command["train"]["job"], error=f"{type(exc).__name__}: {exc}")
        else:
            emit(event="done", job=data.job_id, seconds=round(seconds, 3))


def _exit_with_parent() -> None:
    """End this process when the gateway that started it is gone (even mid-job)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(3)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="assay gateway fine-tuning worker")
    parser.add_argument("--model", type=Path, required=True, help="base weights (a directory)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--nice", type=int, default=10, help="scheduling niceness increment")
    parser.add_argument("--hold", type=Path, default=None, help=argparse.SUPPRESS)  # tests
    args = parser.parse_args(argv)
    # events go to the stdout we were given; everything printed from here on to stderr
    events = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if args.nice:
        os.nice(args.nice)
    _exit_with_parent()
    import torch

    torch.set_num_threads(max(args.threads, 1))
    from assay._util.hf import quiet_transformers

    quiet_transformers()
    serve(sys.stdin, events, args.model, args.hold)


if __name__ == "__main__":
    main()
