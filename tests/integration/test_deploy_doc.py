"""docs/deploy.md's examples run as written and print what the page says they print: each
```python block is followed by the ```text block of its output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
EXAMPLE = re.compile(r"```python\n(.*?)```\s*```text\n(.*?)```", re.DOTALL)
EXAMPLES = EXAMPLE.findall(PAGE.read_text())


def test_every_python_block_has_its_output() -> None:
    assert len(EXAMPLES) == PAGE.read_text().count("```python") == 3


@pytest.mark.parametrize(("code", "output"), EXAMPLES, ids=["leaf", "mirror", "supercluster"])
def test_example_prints_what_the_page_says(code: str, output: str, tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == output
