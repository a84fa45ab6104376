"""Campaigns: the same three targets under the local and the Ray executor give the same
per-sample results; a killed Ray worker loses and recomputes nothing; bad campaign
files are refused with the field named."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from assay._util.errors import UsageError
from assay.campaign import CampaignOutcome, load_campaign, run_campaign
from tests.campaign.conftest import RayCluster, Targets, per_sample

TARGETS = ("tiny", "complier", "slow-refuser")
PLAN = "campaign-test"


def _run(targets: Targets, out: Path, **kwargs: Any) -> CampaignOutcome:
    campaign, plans = load_campaign(targets.campaign_file)
    return run_campaign(campaign, plans, out, show_progress=False, **kwargs)


@pytest.fixture(scope="module")
def local_run(targets: Targets, tmp_path_factory: pytest.TempPathFactory) -> CampaignOutcome:
    return _run(targets, tmp_path_factory.mktemp("local") / "out")


@pytest.mark.slow
def test_local_campaign_writes_every_audit_and_the_comparison(local_run: CampaignOutcome) -> None:
    out = local_run.out
    assert [a.error for a in local_run.audits] == [None, None, None]
    assert local_run.samples_run == 3 * 12
    for target in TARGETS:
        folder = out / target / PLAN
        for name in ("report.json", "report.html", "attestation.json", "samples.jsonl"):
            assert (folder / name).is_file(), f"{target}/{name}"
        assert len(list((folder / "logs").glob("*.eval"))) == 2
    comparison = json.loads((out / "comparison.json").read_text())
    assert [a["target"] for a in comparison["audits"]] == list(TARGETS)
    # one row per target x risk area of the plan; each finding is the audit's own result
    areas = {row["risk_area"] for row in comparison["rows"]}
    assert len(comparison["rows"]) == len(TARGETS) * len(areas)
    for row in comparison["rows"]:
        report = json.loads((out / row["target"] / PLAN / "report.json").read_text())
        suites = {s["id"]: s for s in report["suites"]}
        for finding in row["findings"]:
            suite = suites[finding["suite"]]
            metric = suite["metrics"][0]
            assert finding["value"] == metric["value"]
            assert finding["ci"] == [metric["ci"]["low"], metric["ci"]["high"]]
            assert finding["outcome"] == suite["decision"]["outcome"]
    refusal = {
        row["target"]: f
        for row in comparison["rows"]
        for f in row["findings"]
        if f["suite"] == "misuse_refusal"
    }
    assert refusal["complier"]["value"] == 0.0 and refusal["slow-refuser"]["value"] == 1.0
    markdown = (out / "comparison.md").read_text()
    assert "| slow-refuser | campaign-test |" in markdown
    assert "misuse_refusal 1.00 [" in markdown


@pytest.mark.slow
@pytest.mark.ray
def test_ray_campaign_gives_the_local_per_sample_results(
    targets: Targets, local_run: CampaignOutcome, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    outcome = _run(targets, tmp_path / "out", executor="ray", address=ray_cluster.address)
    assert [a.error for a in outcome.audits] == [None, None, None]
    assert outcome.stats is not None
    # a (target, suite) pair per Ray task, every sample sent back once
    assert outcome.stats.tasks == 6 and outcome.stats.samples_received == 36
    assert outcome.stats.samples_recomputed == 0 and outcome.stats.retries == []
    for target in TARGETS:
        ray_samples = per_sample(outcome.out / target / PLAN)
        assert len(ray_samples) == 12
        assert ray_samples == per_sample(local_run.out / target / PLAN), target
        assert len(list((outcome.out / target / PLAN / "logs").glob("*.eval"))) == 2
    ray_rows = json.loads((outcome.out / "comparison.json").read_text())["rows"]
    local_rows = json.loads((local_run.out / "comparison.json").read_text())["rows"]
    assert ray_rows == local_rows


def _stored(folder: Path) -> int:
    path = folder / "run.sqlite"
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(path, timeout=1) as db:
            return int(db.execute("select count(*) from samples").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.mark.slow
@pytest.mark.ray
def test_killing_a_ray_worker_loses_and_recomputes_nothing(
    targets: Targets, local_run: CampaignOutcome, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    import psutil

    out = tmp_path / "out"
    result: dict[str, Any] = {}

    def campaign() -> None:
        try:
            result["outcome"] = _run(targets, out, executor="ray", address=ray_cluster.address)
        except BaseException as exc:  # reported below
            result["error"] = exc

    thread = threading.Thread(target=campaign)
    thread.start()
    killed: list[int] = []
    slow = out / "slow-refuser" / PLAN
    deadline = time.monotonic() + 120
    # kill every worker running a work item once the slow target has a scored sample
    # (its suites take ~2 s each: the kill lands mid-suite)
    while not killed and thread.is_alive() and time.monotonic() < deadline:
        if _stored(slow) >= 1:
            for pid in ray_cluster.workers_running():
                psutil.Process(pid).kill()
                killed.append(pid)
        time.sleep(0.05)
    thread.join(timeout=180)
    assert not thread.is_alive(), "the campaign did not finish"
    assert "error" not in result, result.get("error")
    assert killed, "no worker was running a work item to kill"
    outcome: CampaignOutcome = result["outcome"]
    assert outcome.stats is not None
    assert [a.error for a in outcome.audits] == [None, None, None]
    # the killed items were resubmitted with only what their stores lacked ...
    assert outcome.stats.retries, "no work item was retried"
    assert any(r.remaining < r.total for r in outcome.stats.retries), outcome.stats.retries
    # ... so no finished sample came back twice, and none is missing
    assert outcome.stats.samples_recomputed == 0
    assert outcome.stats.samples_received == 36
    for target in TARGETS:
        assert per_sample(out / target / PLAN) == per_sample(local_run.out / target / PLAN)

    # rerunning finds every sample done: no task, nothing scored again
    again = _run(targets, out, executor="ray", address=ray_cluster.address)
    assert again.stats is not None
    assert again.samples_run == 0 and again.stats.tasks == 0
    assert again.stats.samples_received == 0 and again.stats.samples_recomputed == 0
    for target in TARGETS:
        assert per_sample(out / target / PLAN) == per_sample(local_run.out / target / PLAN)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "campaign.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("plans: [quick]\n", "targets: is required"),
        ("targets: []\n", "targets: List should have at least 1 item"),
        ("targets: [builtin:smollm2]\nplan: [quick]\n", "plan: is not a campaign field"),
        ("targets: [nowhere:x]\n", "targets[0].target:"),
        (
            "targets: [builtin:smollm2, {target: builtin:smollm2-guarded, tier: purple}]\n",
            "targets[1].tier:",
        ),
        ("targets: [{target: builtin:smollm2, name: ../up}]\n", "targets[0].name: "),
        ("targets: [builtin:smollm2, builtin:smollm2]\n", "targets[1].name: 'builtin-smollm2'"),
        ("targets: [builtin:smollm2]\nplans: [no-such-plan]\n", "plans[0]:"),
        ("targets: [builtin:smollm2]\nsuites: [quick, nope]\n", "suites[0]: unknown suite"),
        ("targets: [builtin:smollm2]\nlimit: 0\n", "limit: Input should be greater than"),
        ("targets: [builtin:smollm2\n", "is not valid YAML at line"),
        ("- just\n- a list\n", "must be a YAML mapping"),
    ],
)
def test_bad_campaign_file_names_the_field(tmp_path: Path, text: str, named: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        load_campaign(path)
    assert named in caught.value.message, caught.value.message
    assert str(path) in caught.value.message


@pytest.mark.slow
def test_cli_refuses_a_bad_campaign_file_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = _write(tmp_path, "targets: [{target: builtin:smollm2, tier: purple}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "assay", "campaign", "run", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "targets[0].tier" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()  # refused before anything ran


@pytest.mark.slow
@pytest.mark.ray
def test_killing_the_ray_driver_then_rerunning_recomputes_nothing_it_saved(
    targets: Targets, local_run: CampaignOutcome, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    out = tmp_path / "out"
    command = [sys.executable, "-m", "assay", "campaign", "run", str(targets.campaign_file)]
    command += ["--executor", "ray", "--address", ray_cluster.address, "--out", str(out)]
    driver = subprocess.Popen(
        [*command, "--quiet"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    slow = out / "slow-refuser" / PLAN
    deadline = time.monotonic() + 180
    while driver.poll() is None and time.monotonic() < deadline:
        if _stored(slow) >= 1:
            driver.kill()
            break
        time.sleep(0.05)
    driver.wait(timeout=30)
    assert driver.returncode == -9, "the driver finished before it could be killed"
    saved = sum(_stored(out / target / PLAN) for target in TARGETS)
    assert 0 < saved < 36

    again = _run(targets, out, executor="ray", address=ray_cluster.address)
    assert again.stats is not None and not again.failed
    # the rerun scored exactly what the killed driver had not saved, nothing twice
    assert again.stats.samples_recomputed == 0
    assert again.stats.samples_received == 36 - saved
    for target in TARGETS:
        assert per_sample(out / target / PLAN) == per_sample(local_run.out / target / PLAN)
