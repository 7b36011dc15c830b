"""Turning the console's forms into the admin API's request bodies, and the API's rules into
the lines shown beside each field. Blank means not given; the schemas decide the rest."""

from __future__ import annotations

from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from app.core.problems import FieldError, UnprocessableContent
from app.models.prompts import Category, PromptKind
from app.models.repair import PartnerRole, StepOwner
from app.schemas.admin_clients import ClientCreate
from app.schemas.libraries import LibraryCreate
from app.schemas.library_prompts import PromptCreate
from app.schemas.repair_templates import PhaseTemplate, StepTemplate, TemplateCreate

M = TypeVar("M", bound=BaseModel)
Form = dict[str, str]
"""A posted form's text fields, the last value of each name."""


def invalid(error: ValidationError) -> UnprocessableContent:
    return UnprocessableContent(
        "Some fields are not valid.",
        errors=[
            FieldError(pointer="#" + "".join(f"/{part}" for part in e["loc"]), detail=e["msg"])
            for e in error.errors()
        ],
    )


def parse(model: type[M], fields: dict[str, Any]) -> M:
    """The request body, or a 422 naming each bad field by its JSON pointer."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise invalid(error) from None


def rules_of(model: type[Any]) -> dict[str, list[str]]:
    """What the API accepts for each field, read from the request schema it validates."""
    schema = model.model_json_schema()
    rules: dict[str, list[str]] = {}
    for name, spec in schema["properties"].items():
        options = spec.get("anyOf", [spec])
        found: list[str] = []
        if name in schema.get("required", []):
            found.append("Required.")
        for option in options:
            if "$ref" in option:
                option = schema["$defs"][option["$ref"].rsplit("/", 1)[1]]
            if "maxLength" in option:
                found.append(f"At most {option['maxLength']} characters.")
            if "minimum" in option and "maximum" in option:
                found.append(f"From {option['minimum']} to {option['maximum']}.")
            if "pattern" in option:
                found.append(f"Must match {option['pattern']}.")
            if "enum" in option:
                found.append("One of: " + ", ".join(map(str, option["enum"])) + ".")
            if option.get("type") == "array" and "maxItems" in option:
                found.append(f"At most {option['maxItems']} items.")
        if spec.get("description"):
            found.append(spec["description"])
        rules[name] = found
    return rules


PROMPT_RULES: Final = rules_of(PromptCreate)
PROMPT_CHOICES: Final = {
    "category": [c.value for c in Category],
    "kind": [k.value for k in PromptKind],
}
LIBRARY_RULES: Final = rules_of(LibraryCreate)
TEMPLATE_RULES: Final = rules_of(TemplateCreate)
PHASE_RULES: Final = rules_of(PhaseTemplate)
STEP_RULES: Final = rules_of(StepTemplate)
STEPS_HELP: Final = (
    "One step a line: owner | title | description (the description may be left out). "
    f"Owner is one of: {', '.join(StepOwner)}."
)
ROLES: Final = [role.value for role in PartnerRole]
CLIENT_RULES: Final = rules_of(ClientCreate)


def prompt_fields(form: Form) -> dict[str, Any]:
    """A prompt form's fields as the API's request body: blank means not given."""
    fields: dict[str, Any] = {
        name: value
        for name in ("text", "category", "depth", "kind", "listener_guidance")
        if (value := form.get(name, "").strip())
    }
    if form.get("tags", "").strip():
        fields["tags"] = [tag.strip() for tag in form["tags"].split(",") if tag.strip()]
    fields["sensitive"] = form.get("sensitive") == "on"
    if fields.get("depth", "").lstrip("-").isdigit():
        fields["depth"] = int(fields["depth"])  # a form sends text; the API wants a number
    return fields


def details(form: Form, *names: str) -> dict[str, Any]:
    """The named text fields as sent (the schemas strip them); a missing one is not given."""
    return {name: form[name] for name in names if name in form}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _step(line: str) -> dict[str, str]:
    owner, _, rest = line.partition("|")
    title, _, description = rest.partition("|")
    if not rest:  # no owner given: the line is the title
        owner, title = "both", line
    return {"owner": owner.strip(), "title": title.strip(), "description": description.strip()}


def phases(form: Form) -> list[dict[str, Any]]:
    """The phases of a template form, `phase-<n>-<field>` for n from 0, in order."""
    found: list[dict[str, Any]] = []
    while f"phase-{len(found)}-key" in form:
        at = f"phase-{len(found)}-"
        found.append(
            {
                "key": form[at + "key"],
                "title": form.get(at + "title", ""),
                "description": form.get(at + "description", ""),
                "steps": [_step(line) for line in _lines(form.get(at + "steps", ""))],
                "agreements": _lines(form.get(at + "agreements", "")),
            }
        )
    return found


def step_lines(phase: PhaseTemplate) -> str:
    """A phase's steps as the editor shows them, the way `phases` reads them back."""
    return "\n".join(
        f"{step.owner.value} | {step.title}"
        + (f" | {step.description}" if step.description else "")
        for step in phase.steps
    )
