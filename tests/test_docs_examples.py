"""Every fenced ``sh`` example in README.md and docs/**.md runs, so an example that
stops working fails the test suite.

How the examples run (keep the Markdown readable; this is the whole convention):

- Files run in order, README.md first, then docs/**.md alphabetically, all in one
  throwaway working directory with one throwaway ASSAY_HOME (later pages build on the
  README's audit, as a reader's session would), against the embedded model (SmolLM2).
- Each block runs as one bash script with ``set -e -o pipefail``.
- An HTML comment on the line before a fence changes that block:
  ``<!-- docs-test: skip REASON -->`` does not run it (keep these few; each needs a
  reason, and the count is capped below); ``<!-- docs-test: in-repo -->`` runs it in
  the repository root (read-only commands); ``<!-- docs-test: gateway -->`` starts a
  gateway serving the embedded model first (see placeholders).
- Adjustments for speed: ``assay audit`` gets ``--limit 1`` and, unless it names its
  suites, ``--suite hazard_knowledge --suite misuse_refusal`` (one scored by logprobs,
  one by generation and a judge); ``inspect eval`` gets ``--limit 1`` (the last
  ``--limit`` wins); ``assay gateway serve`` starts in the
  background and the block goes on once its port answers (servers stop at the end).
- Placeholders: ports 8000 and 8001 stand for free ports; ``/path/to/model`` for the
  embedded model's folder; ``https://gw.lab.example`` for the gateway a ``gateway``
  block starts, whose grey token is in ``ASSAY_GATEWAY_TOKEN`` and ``OPENAI_API_KEY``.

A failure names the file and the line of the command that failed, with its output.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_SKIPPED = 25  # benchmarks, operators' set-up and walk-throughs with placeholders
_DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(?P<kind>[\w-]+)\s*(?P<arg>.*?)\s*-->")


@dataclass
class Block:
    file: str  # relative to the repository root
    line: int  # line of the first command (1-based)
    code: str
    directive: str | None = None
    argument: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks() -> list[Block]:
    found = []
    for path in doc_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            if lines[i].strip() in ("```sh", "```bash", "```shell"):
                start = i + 1
                end = start
                while not lines[end].startswith("```"):
                    end += 1
                previous = lines[i - 1].strip() if i else ""
                match = _DIRECTIVE.fullmatch(previous)
                found.append(
                    Block(
                        file=str(path.relative_to(ROOT)),
                        line=start + 1,
                        code="\n".join(lines[start:end]),
                        directive=match["kind"] if match else None,
                        argument=match["arg"] if match else "",
                    )
                )
                i = end
            i += 1
    return found


def test_docs_test_directives_are_known_and_skips_are_few() -> None:
    all_blocks = blocks()
    assert len(all_blocks) > 15
    unknown = [
        b.where for b in all_blocks if b.directive not in (None, "skip", "in-repo", "gateway")
    ]
    assert unknown == []
    skipped = [b for b in all_blocks if b.directive == "skip"]
    assert all(b.argument for b in skipped), "every skip says why"
    assert len(skipped) <= MAX_SKIPPED, [f"{b.where}: {b.argument}" for b in skipped]
    for path in doc_files():  # a directive that is not right before a fence does nothing
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            if "docs-test:" in line:
                assert n + 1 < len(lines) and lines[n + 1].startswith("```"), f"{path}:{n + 1}"


PRELUDE = r"""
set -e -o pipefail
trap 'echo "__DOCS_FAILED_AT__ $LINENO" >&2' ERR
assay() {
  case "$1" in
    audit)
      case " $* " in
        *" --suite "*|*" -s "*) command assay "$@" --limit 1 ;;
        *) command assay "$@" --limit 1 --suite hazard_knowledge --suite misuse_refusal ;;
      esac ;;
    gateway)
      if [ "$2" = serve ]; then _docs_serve "$@"; else command assay "$@"; fi ;;
    *) command assay "$@" ;;
  esac
}
inspect() {
  if [ "$1" = eval ]; then command inspect "$@" --limit 1; else command inspect "$@"; fi
}
_docs_serve() {
  local port=8000 previous=""
  for arg in "$@"; do
    if [ "$previous" = --port ]; then port="$arg"; fi
    previous="$arg"
  done
  command assay "$@" > "$DOCS_STATE/serve-$port.log" 2>&1 &
  local pid=$!
  echo "$pid" >> "$DOCS_STATE/pids"
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then cat "$DOCS_STATE/serve-$port.log" >&2; return 1; fi
    sleep 0.5
  done
  echo "the gateway on port $port did not start" >&2
  return 1
}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Session:
    work: Path
    state: Path
    env: dict[str, str]
    substitutions: dict[str, str]
    gateway_started: bool = False


def _substitute(code: str, session: Session) -> str:
    for placeholder, value in session.substitutions.items():
        if placeholder.isdigit():  # a port: not the digits inside a larger number
            code = re.sub(rf"(?<!\d){placeholder}(?!\d)", value, code)
        else:
            code = code.replace(placeholder, value)
    return code


def _run(block: Block, code: str, session: Session, timeout: float) -> None:
    script = PRELUDE + code + "\n"
    cwd = ROOT if block.directive == "in-repo" else session.work
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=session.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode == 0:
        return
    failed = re.findall(r"__DOCS_FAILED_AT__ (\d+)", result.stderr)
    offset = PRELUDE.count("\n")
    line = block.line + int(failed[0]) - offset - 1 if failed else block.line
    command = code.splitlines()[line - block.line] if failed else code.splitlines()[0]
    output = (result.stdout[-1500:] + "\n" + result.stderr[-2500:]).strip()
    pytest.fail(
        f"{block.file}:{line}: the example `{command.strip()}` failed "
        f"(exit {result.returncode}):\n{output}",
        pytrace=False,
    )


def _start_gateway(session: Session) -> None:
    """For a ``gateway`` block: a gateway serving the embedded model, and a grey token."""
    if session.gateway_started:
        return
    port = session.substitutions["8001"]
    setup = f"""
assay gateway serve --target builtin:smollm2 --port {port}
assay gateway token issue --engagement docs-examples --tier grey | tail -n 1 > "$DOCS_STATE/token"
"""
    _run(Block("(docs-test gateway setup)", 1, setup), setup, session, timeout=900)
    token = (session.state / "token").read_text().strip()
    session.env.update(ASSAY_GATEWAY_TOKEN=token, OPENAI_API_KEY=token)
    session.substitutions["https://gw.lab.example"] = f"http://127.0.0.1:{port}"
    session.gateway_started = True


@pytest.fixture
def session(tmp_path: Path, smollm2_home: Path) -> Iterator[Session]:
    from assay.models import builtin_cache_path

    state = tmp_path / "state"
    state.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ)
    env.update(
        ASSAY_HOME=str(smollm2_home),
        DOCS_STATE=str(state),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        INSPECT_LOG_LEVEL="error",
    )
    env.pop("COLUMNS", None)
    substitutions = {
        "8000": str(_free_port()),
        "8001": str(_free_port()),
        "/path/to/model": str(builtin_cache_path("smollm2")),
    }
    yield Session(work, state, env, substitutions)
    pids = state / "pids"
    if pids.is_file():
        for pid in {int(p) for p in pids.read_text().split()}:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        time.sleep(1)


@pytest.mark.slow
@pytest.mark.timeout(5400)
def test_every_shell_example_runs(session: Session) -> None:
    for block in blocks():
        if block.directive == "skip":
            print(f"skipped {block.where}: {block.argument}")
            continue
        started = time.perf_counter()
        if block.directive == "gateway":
            _start_gateway(session)
        _run(block, _substitute(block.code, session), session, timeout=1800)
        print(f"ran {block.where} in {time.perf_counter() - started:.1f} s")
