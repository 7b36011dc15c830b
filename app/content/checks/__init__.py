"""The checker of Rapport's starter content (`rapport check-content`,
`python -m app.content.checks [CONTENT_DIR]`).

Each file goes first through exactly what the app loads it with: `parse_library_file` (the
admin import and the seed), `parse_template_file` (the seed; the template schema with its
roles-and-owners check) and `parse_emotions` / `parse_needs` (what the API serves). Their
refusals are reported as `[app]` problems, with the file and a JSON pointer; the checker keeps
no copy of those rules. What it adds are the `[editorial]` rules of the starter collection as a
whole: coverage of the five practices and three depths, the depth mix, the shares of play,
repair and listener guidance, sensitive tags, wording, the atone -> attune -> attach order,
the required libraries and templates, the emotion families and need categories, and the house
style's tighter lengths (`prose.py`).
"""

from __future__ import annotations

from app.content.checks.command import OK_LINE, check_content, main, render
from app.content.checks.report import Problem, Report, Rule

__all__ = ["OK_LINE", "Problem", "Report", "Rule", "check_content", "main", "render"]
