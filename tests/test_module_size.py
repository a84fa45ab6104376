"""No module of ``src/assay`` runs past about 400 lines without saying why in its
docstring (issue #13): a long module is either one idea that reads best in one place,
and says so, or two ideas that should be split."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "assay"
LIMIT = 400
_REASON = re.compile(r"Longer than most|Over 400 lines")


def long_modules_without_a_reason(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) <= LIMIT:
            continue
        if not _REASON.search(ast.get_docstring(ast.parse(text)) or ""):
            found.append(str(path.relative_to(root.parent)))
    return found


def test_every_long_module_says_why() -> None:
    assert long_modules_without_a_reason(SRC) == []


def test_a_long_module_without_a_reason_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    body = "\n".join(f"x{i} = {i}" for i in range(LIMIT + 1))
    (package / "silent.py").write_text(f'"""A module."""\n{body}\n')
    (package / "explained.py").write_text(f'"""A table.\n\nLonger than most: data."""\n{body}\n')
    (package / "short.py").write_text('"""Short."""\nx = 1\n')
    assert long_modules_without_a_reason(package) == ["pkg/silent.py"]
