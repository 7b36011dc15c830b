"""Rapport's starter content: prompt libraries, repair-plan templates and the two fixed
vocabularies, as JSON files the services load, and their checker (`app.content.checks`)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

CONTENT_DIR: Final = Path(__file__).resolve().parent
