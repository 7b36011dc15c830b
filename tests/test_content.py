"""The starter content keeps its editorial rules (app/content/check_content.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECKER = Path(__file__).resolve().parent.parent / "app" / "content" / "check_content.py"


def test_the_starter_content_passes_its_checks() -> None:
    result = subprocess.run(
        [sys.executable, str(CHECKER)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: all content rules pass." in result.stdout
