"""The malformed-spec corpus: every file must fail with its named field, on one line, with no traceback.

Each file under tests/corpus/ states what it must produce:

    # expect-path: models.churn.serving.canary.percent   (the field path, if any)
    # expect: got 150; allowed: 1 to 99                  (a fragment of the same line)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_dsl.cli.main import main

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p for p in CORPUS.glob("*.py") if not p.name.startswith("_"))


def _expectations(path: Path) -> tuple[str | None, str]:
    text = path.read_text()
    where = re.search(r"^# expect-path: (.+)$", text, re.M)
    what = re.search(r"^# expect: (.+)$", text, re.M)
    assert what, f"{path.name} has no '# expect:' line"
    return (where.group(1).strip() if where else None), what.group(1).strip()


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_each_malformed_spec_fails_with_its_named_field(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, fragment = _expectations(case)
    code = main(["validate", str(case)])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines, "no problem was reported"
    # Every line is a problem line: it starts with the file that has the problem.
    assert all(line.startswith(str(case)) or case.name in line.split(":")[0] for line in lines), lines
    matching = [line for line in lines if fragment in line and (path is None or f": {path}: " in line)]
    assert matching, f"no line has {path!r} and {fragment!r}:\n" + "\n".join(lines)


@pytest.mark.parametrize("name", ["syntax_error", "canary_percent_too_high", "no_platform"])
def test_the_console_script_reports_without_a_traceback(name: str) -> None:
    # The installed `mlops` entry point, in a process of its own, as a user runs it.
    result = subprocess.run(
        [sys.executable, "-m", "mlops_dsl", "validate", str(CORPUS / f"{name}.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() and len(result.stderr.strip().splitlines()) >= 1
