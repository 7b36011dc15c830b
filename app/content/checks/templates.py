"""The repair-plan templates (`repair_templates.json`): first through `parse_template_file`,
what the seed uses (the template schema with its roles-and-owners check), then the editorial
rules: the atone -> attune -> attach order, a few steps and agreements per phase, every
partner with something to do, and a gentle pointer to couples therapy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from app.content.checks import prose
from app.content.checks.report import Report
from app.models.repair import StepOwner
from app.schemas.repair_templates import PhaseTemplate, TemplateFileItem
from app.services.repair_catalog import InvalidTemplateFile, parse_template_file

PHASE_ORDER: Final = ("atone", "attune", "attach")
# The starter templates are either about one partner's hurt or mutual, never both at once.
ROLE_SETS: Final[tuple[tuple[str, ...], ...]] = (("hurt", "involved"), ("mutual",))
REQUIRED_TEMPLATES: Final = (
    "after-a-broken-promise",
    "after-secrecy-or-betrayal",
    "after-hurtful-words",
)
MIN_TEMPLATES: Final = 3
STEPS_PER_PHASE: Final = (3, 5)
AGREEMENTS_PER_PHASE: Final = (1, 3)
OWNERS: Final[Mapping[str, StepOwner]] = {"hurt": StepOwner.hurt, "involved": StepOwner.involved}


def check_phase(path: Path, at: str, phase: PhaseTemplate, report: Report) -> None:
    prose.check_prose(report, path, f"{at}/title", phase.title, prose.MAX_TITLE, wording=False)
    prose.check_prose(report, path, f"{at}/description", phase.description, prose.MAX_DESCRIPTION)
    report.bounds(path, f"{at}/steps", len(phase.steps), *STEPS_PER_PHASE, "steps")
    for index, step in enumerate(phase.steps):
        spot = f"{at}/steps/{index}"
        prose.check_prose(report, path, f"{spot}/title", step.title, prose.MAX_TITLE, wording=False)
        prose.check_prose(report, path, f"{spot}/description", step.description, prose.MAX_TEXT)
    report.bounds(
        path, f"{at}/agreements", len(phase.agreements), *AGREEMENTS_PER_PHASE, "agreements"
    )
    for index, agreement in enumerate(phase.agreements):
        prose.check_prose(report, path, f"{at}/agreements/{index}", agreement, prose.MAX_AGREEMENT)


def check_template(path: Path, index: int, template: TemplateFileItem, report: Report) -> None:
    at = f"#/{index}"
    prose.check_prose(report, path, f"{at}/title", template.title, prose.MAX_TITLE, wording=False)
    description = template.description
    prose.check_prose(report, path, f"{at}/description", description, prose.MAX_DESCRIPTION)
    if not prose.THERAPIST.search(description):
        report.fail(
            path, f"{at}/description", "should gently mention that a couples therapist can help"
        )
    roles = tuple(role.value for role in template.roles)
    if roles not in ROLE_SETS:
        options = " or ".join(str(list(r)) for r in ROLE_SETS)
        report.fail(path, f"{at}/roles", f"{list(roles)} should be {options}")

    keys = tuple(phase.key for phase in template.phases)
    if keys != PHASE_ORDER:
        report.fail(
            path, f"{at}/phases", f"are {list(keys)}; they must be {' -> '.join(PHASE_ORDER)}"
        )
    for position, phase in enumerate(template.phases):
        check_phase(path, f"{at}/phases/{position}", phase, report)
        owners = {step.owner for step in phase.steps}
        if phase.key == "atone" and "involved" in roles and StepOwner.involved not in owners:
            report.fail(
                path,
                f"{at}/phases/{position}",
                "in atone, the involved partner should own at least one step",
            )
    every_owner = {step.owner for phase in template.phases for step in phase.steps}
    for role in roles:
        if role in OWNERS and OWNERS[role] not in every_owner:
            report.fail(path, f"{at}/phases", f"no step is owned by the {role!r} partner")


def summary(templates: list[TemplateFileItem]) -> list[str]:
    lines = [f"Repair templates: {len(templates)}"]
    for template in templates:
        steps = sum(len(phase.steps) for phase in template.phases)
        agreements = sum(len(phase.agreements) for phase in template.phases)
        lines.append(
            f"  {template.slug:<28} roles {'/'.join(template.roles):<14}"
            f" phases {' -> '.join(phase.key for phase in template.phases)}, {steps} steps,"
            f" {agreements} agreements"
        )
    return lines


def check_templates(path: Path, report: Report) -> list[str]:
    """Check the template file at `path`; the summary lines of what loaded."""
    raw = report.read(path)
    if raw is None:
        return summary([])
    try:
        templates = parse_template_file(raw, source=path.name)
    except InvalidTemplateFile as error:
        report.refused(path, error)
        return summary([])
    for index, template in enumerate(templates):
        check_template(path, index, template, report)
    if len(templates) < MIN_TEMPLATES:
        report.fail(path, "#", f"has {len(templates)} templates (at least {MIN_TEMPLATES})")
    slugs = {template.slug for template in templates}
    for slug in REQUIRED_TEMPLATES:
        if slug not in slugs:
            report.fail(path, "#", f"missing the {slug!r} template")
    return summary(templates)
