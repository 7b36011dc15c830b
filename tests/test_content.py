"""The starter content passes its checks (app/content/checks): the app's own validation first,
then the editorial rules of the collection; a broken copy is reported with file and pointer."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.content import CONTENT_DIR
from app.content.checks import OK_LINE, Problem, Rule, check_content, main, render
from app.services import vocabularies
from app.services.library_files import InvalidLibraryFile, parse_library_file
from app.services.repair_catalog import InvalidTemplateFile, parse_template_file
from app.services.vocabularies import InvalidVocabularyFile, parse_emotions, parse_needs

Edit = Callable[[str, Callable[[Any], None]], Path]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A copy of the JSON content, to break."""
    copy = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, copy, ignore=shutil.ignore_patterns("*.py", "checks", "__py*"))
    return copy


@pytest.fixture
def edit(content: Path) -> Edit:
    def change(relative: str, how: Callable[[Any], None]) -> Path:
        path = content / relative
        document = json.loads(path.read_text(encoding="utf-8"))
        how(document)
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        return path

    return change


def problems_in(content: Path, file: str) -> list[Problem]:
    report = check_content(content)
    assert not report.ok
    return [p for p in report.problems if p.file.endswith(file)]


def test_the_starter_content_passes_its_checks(capsys: pytest.CaptureFixture[str]) -> None:
    report = check_content()
    assert report.ok, "\n".join(map(str, report.problems))
    assert render(report)[-1] == OK_LINE
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "Prompt libraries: 4" in out and "Repair templates: 3" in out
    assert out.rstrip().endswith(OK_LINE)


def test_the_command_checks_a_directory_and_fails_on_a_broken_one(
    content: Path, edit: Edit
) -> None:
    runner = CliRunner()
    passing = runner.invoke(cli, ["check-content", str(content)])
    assert passing.exit_code == 0, passing.output
    assert OK_LINE in passing.output

    path = edit("libraries/first-months.json", lambda doc: doc["prompts"][3].update(depth=5))
    failing = runner.invoke(cli, ["check-content", str(content)])
    assert failing.exit_code == 1
    assert f"[app] {path} #/prompts/3/depth: " in failing.output
    assert "FAILED: 1 problem(s)" in failing.output


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("depth", 5, "less than or equal to 3"),
        ("depth", "2", "a valid integer"),
        ("sensitive", "true", "a valid boolean"),
        ("category", "rest", "'listen', 'share', 'play', 'reflect' or 'repair'"),
        ("tags", ["Upper Case"], "lowercase slug"),
    ],
)
def test_a_structural_error_is_the_apps_own_rule(
    content: Path, edit: Edit, name: str, value: object, message: str
) -> None:
    path = edit("libraries/long-term.json", lambda doc: doc["prompts"][7].update({name: value}))
    [problem] = problems_in(content, "long-term.json")
    assert (problem.file, problem.pointer, problem.rule) == (
        str(path),
        f"#/prompts/7/{name}" + ("/0" if name == "tags" else ""),
        "app",
    )
    assert message in problem.message
    # The import endpoint and the seed refuse the same file for the same reason.
    with pytest.raises(InvalidLibraryFile) as refused:
        parse_library_file(path.read_bytes())
    assert refused.value.extra["errors"] == [
        {"pointer": problem.pointer, "detail": problem.message}
    ]
    # Nothing else: a refused file gets no editorial checks, nor do the collection's totals.
    assert check_content(content).problems == [problem]


def test_template_and_vocabulary_errors_come_from_their_loaders(content: Path, edit: Edit) -> None:
    def swap_owner(templates: list[dict[str, Any]]) -> None:
        templates[2]["phases"][0]["steps"][0]["owner"] = "hurt"  # a mutual template

    path = edit("repair_templates.json", swap_owner)
    [problem] = problems_in(content, "repair_templates.json")
    assert (problem.pointer, problem.rule) == ("#/2", Rule.app)
    assert "owned by `both`" in problem.message
    with pytest.raises(InvalidTemplateFile):
        parse_template_file(path.read_bytes(), source=path.name)

    def relabel(vocabulary: dict[str, Any]) -> None:
        terms = vocabulary["families"][1]["terms"]
        terms[1]["label"] = terms[0]["label"].upper()

    path = edit("vocabularies/emotions.json", relabel)
    [problem] = problems_in(content, "emotions.json")
    assert (problem.pointer, problem.rule) == ("#/families/1/terms/1/label", Rule.app)
    assert problem.message == "repeats the label of #/families/1/terms/0"


def test_repeated_template_slugs_are_refused_by_the_loader() -> None:
    raw = (CONTENT_DIR / "repair_templates.json").read_bytes()
    templates = json.loads(raw)
    doubled = json.dumps([*templates, {**templates[0], "title": "Again"}]).encode()
    with pytest.raises(InvalidTemplateFile) as refused:
        parse_template_file(doubled, source="repair_templates.json")
    assert refused.value.extra["errors"] == [
        {"pointer": f"#/{len(templates)}/slug", "detail": "repeats the slug of #/0"}
    ]


def test_vocabulary_keys_stay_under_their_group_and_unique() -> None:
    needs = json.loads((CONTENT_DIR / "vocabularies" / "needs.json").read_bytes())
    first, second = needs["categories"][0], needs["categories"][1]
    second["needs"][0] = {**first["needs"][0], "label": "Another label"}
    with pytest.raises(InvalidVocabularyFile) as refused:
        parse_needs(json.dumps(needs))
    assert refused.value.extra["errors"] == [
        {"pointer": "#/categories/1/needs/0/key", "detail": f"must start with {second['key']}."},
        {
            "pointer": "#/categories/1/needs/0/key",
            "detail": "repeats the key of #/categories/0/needs/0",
        },
    ]
    term = {"key": "mad.cross", "label": "Cross", "valence": "negative"}
    family = {"key": "mad", "label": "Mad", "valence": "negative", "terms": [term]}
    again: dict[str, Any] = {**family, "terms": []}
    twice = {"version": 1, "families": [family, again]}
    with pytest.raises(InvalidVocabularyFile) as repeated:
        parse_emotions(json.dumps(twice))
    assert [e["pointer"] for e in repeated.value.extra["errors"]] == ["#/families/1/terms"]
    again["terms"] = [{**term, "key": "mad.angry", "label": "Angry"}]
    with pytest.raises(InvalidVocabularyFile) as repeated:
        parse_emotions(json.dumps(twice))
    assert repeated.value.extra["errors"] == [
        {"pointer": "#/families/1/key", "detail": "repeats the key of #/families/0"}
    ]
    with pytest.raises(InvalidVocabularyFile) as not_json:
        parse_emotions("{")
    assert not_json.value.extra["errors"][0]["pointer"] == "#"


def test_an_avoided_word_is_an_editorial_error_the_app_accepts(content: Path, edit: Edit) -> None:
    def reword(library: dict[str, Any]) -> None:
        library["prompts"][4]["text"] = "What did your wife teach you about rest?"

    path = edit("libraries/first-months.json", reword)
    [problem] = problems_in(content, "first-months.json")
    assert (problem.pointer, problem.rule) == ("#/prompts/4/text", Rule.editorial)
    assert "'wife'" in problem.message
    assert str(problem) == f"[editorial] {path} #/prompts/4/text: {problem.message}"
    parse_library_file(path.read_bytes())  # the app has no opinion on wording


def test_the_phase_order_is_an_editorial_rule(content: Path, edit: Edit) -> None:
    def swap(templates: list[dict[str, Any]]) -> None:
        phases = templates[1]["phases"]
        phases[1], phases[2] = phases[2], phases[1]

    path = edit("repair_templates.json", swap)
    [problem] = problems_in(content, "repair_templates.json")
    assert (problem.pointer, problem.rule) == ("#/1/phases", Rule.editorial)
    assert "atone -> attune -> attach" in problem.message
    parse_template_file(path.read_bytes(), source=path.name)


def test_a_library_without_play_is_reported(content: Path, edit: Edit) -> None:
    def no_play(library: dict[str, Any]) -> None:
        for prompt in library["prompts"]:
            if prompt["category"] == "play":
                prompt["category"] = "share"

    edit("libraries/long-distance.json", no_play)
    found = {(p.pointer, p.message) for p in problems_in(content, "long-distance.json")}
    assert ("#/prompts", "has no play prompt") in found
    assert ("#/prompts", "play is 0/40 (at least 20%)") in found


def test_a_broken_installed_vocabulary_is_a_server_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "emotions.json").write_text('{"version": 0, "families": []}', encoding="utf-8")
    monkeypatch.setattr(vocabularies, "VOCABULARY_DIR", tmp_path)
    vocabularies.emotions.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"emotions\.json: .*#/version"):
            vocabularies.emotions()
    finally:
        monkeypatch.undo()
        vocabularies.emotions.cache_clear()
    assert vocabularies.emotions().version >= 1


@pytest.mark.slow  # starts a Python process
def test_python_dash_m_runs_the_checker(content: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "app.content.checks", str(content)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.rstrip().endswith(OK_LINE)
    (content / "repair_templates.json").unlink()
    with pytest.raises(SystemExit) as usage:
        main([str(content / "nowhere")])
    assert usage.value.code == 2
    assert main([str(content)]) == 1
