"""The README documents every setting, so a new one cannot land unexplained."""

from __future__ import annotations

from app.config import PROJECT_ROOT, Settings


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [
        f"RAPPORT_{name.upper()}"
        for name in Settings.model_fields
        if f"`RAPPORT_{name.upper()}`" not in readme
    ]
    assert not missing, f"document these settings in README.md (Configuration): {missing}"
