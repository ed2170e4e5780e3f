"""A second project, not the bundled one, built end to end by the same engine: tests/projects/tollbridge, a credit
memo on a toll bridge's revenue bonds. Its subject, input groups, units, sections, charts, claims, scenarios and
grid are its own; nothing of the bundled memo may reach any of its outputs.

The project is copied once into a temporary folder and built there through the command line, as a user would:
once found from the working directory, once with ``--project DIR`` from elsewhere and an input edited with
``--set``, and once more from a subfolder (an identical build). Every test reads those builds; the expected text of
each number is computed from the build's figures.json with the engine's formatters, never typed.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from memo import format as fmt
from memo.pdf import for_print
from tests.conftest import line_col, memo
from tests.test_htmltree import same_as_html5
from tests.test_templates import hand_typed_numbers, numeric_literals_in_expressions

PROJECT = Path(__file__).resolve().parent / "projects" / "tollbridge"
FOREIGN = re.compile(r"\b(Venice|VVV|DIEM|OpenRouter)\b")  # the bundled memo's subject
DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")  # embedded images, whose letters mean nothing
EDITED, EDITED_TO = "tolls.car_toll", 5.0
SECTIONS = {
    "brief": "The bonds in brief",
    "traffic": "Traffic and toll revenue",
    "coverage": "Coverage and its margins",
    "method": "Method, sources and every figure",
}
DAGGER = "\u2020"
DERIVED = ("scenario.", "uncertainty.")  # figures the analysis adds to the model's


def _yaml(name: str) -> Any:
    return yaml.safe_load((PROJECT / name).read_text(encoding="utf-8"))


MODEL = _yaml("model.yaml")
SETTINGS = _yaml("memo.yml")


def run(*args: str, cwd: Path, status: int = 0) -> Any:
    result = memo(*args, cwd=cwd)
    assert result.returncode == status, f"memo {' '.join(args)}: exit {result.returncode}\n{result.stderr}"
    return result


def shown(data: dict[str, Any], name: str, part: str = "value") -> str:
    """A figure of a build as its memo prints it, from its figures.json (the units table says each unit's format)."""
    figure = data["figures"][name]
    format_of = fmt.FORMATTERS[data["units"][figure["unit"]]["format"]]
    if part == "range":
        return f"{format_of(figure['low'])}{fmt.DASH}{format_of(figure['high'])}"
    return format_of(figure[part])


def shown_input(data: dict[str, Any], name: str, value: float) -> str:
    return fmt.FORMATTERS[data["units"][data["inputs"][name]["unit"]]["format"]](value)


def figures_json(build: Path) -> dict[str, Any]:
    return json.loads((build / "figures.json").read_text(encoding="utf-8"))


def model_figures(data: dict[str, Any]) -> dict[str, Any]:
    return {name: f for name, f in data["figures"].items() if not name.startswith(DERIVED)}


def depends_on(data: dict[str, Any], name: str, item: str) -> bool:
    """Whether figure ``name`` reads input ``item``, directly or through other figures (as figures.json records)."""
    figures, todo, seen = data["figures"], [name], {name}
    while todo:
        current = todo.pop()
        for ref in figures[current]["inputs"]:
            if ref in figures and ref != current:
                if ref not in seen:
                    seen.add(ref)
                    todo.append(ref)
            elif ref == item:
                return True
    return False


def pdf_text(path: Path) -> tuple[list[str], dict[str, Any]]:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    return [page.extract_text() for page in reader.pages], dict(reader.metadata or {})


class Page(HTMLParser):
    """What a test reads of a memo page: headings, section ids, charts, and the text of every figure it prints."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.sections: list[str] = []
        self.charts: list[str] = []
        self.printed: list[tuple[str, str]] = []  # (figure name, text as printed, dagger dropped)
        self._heading: tuple[str, list[str]] | None = None
        self._figure: tuple[str, list[str], int] | None = None  # name, text, depth of nested spans
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("h1", "h2", "h3"):
            self._heading = (tag, [])
        if tag == "section" and attributes.get("id"):
            self.sections.append(attributes["id"] or "")
        if tag == "figure" and "chart-figure" in (attributes.get("class") or ""):
            self.charts.append((attributes.get("id") or "").removeprefix("fig-"))
        if tag == "span":
            if self._figure is not None:
                name, text, depth = self._figure
                self._figure = (name, text, depth + 1)
            elif attributes.get("data-figure"):
                self._figure = (attributes["data-figure"] or "", [], 0)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append((self._heading[0], " ".join("".join(self._heading[1]).split())))
            self._heading = None
        if tag == "span" and self._figure is not None:
            name, text, depth = self._figure
            if depth:
                self._figure = (name, text, depth - 1)
            else:
                self.printed.append((name, "".join(text).replace(DAGGER, "").strip()))
                self._figure = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading[1].append(data)
        if self._figure is not None:
            self._figure[1].append(data)


# ---------------------------------------------------------------- the builds, made once for the module


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder for the module's project copy and builds, with a build cache of its own shared by every build."""
    root = tmp_path_factory.mktemp("tollbridge")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEMO_CACHE_DIR", str(root / "cache"))
        yield root


@pytest.fixture(scope="module")
def project(workspace: Path) -> Path:
    target = workspace / "project"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("build", "public", ".memo-cache", "__pycache__"))
    return target


@pytest.fixture(scope="module")
def base(project: Path, workspace: Path) -> Path:
    """The project as it is, found from the working directory."""
    out = workspace / "base"
    run("build", "--out", str(out), cwd=project)
    return out


@pytest.fixture(scope="module")
def edited(project: Path, workspace: Path) -> Path:
    """The project named by --project from a folder outside it, with one input edited for this build."""
    elsewhere = workspace / "elsewhere"
    elsewhere.mkdir()
    out = workspace / "edited"
    run("build", "--project", str(project), "--out", str(out), "--set", f"{EDITED}={EDITED_TO}", cwd=elsewhere)
    return out


@pytest.fixture(scope="module")
def again(project: Path, workspace: Path, base: Path) -> Path:
    """The same project built again, found upward from a subfolder."""
    out = workspace / "again"
    run("build", "--out", str(out), cwd=project / "templates" / "content")
    return out


@pytest.fixture(scope="module")
def base_data(base: Path) -> dict[str, Any]:
    return figures_json(base)


@pytest.fixture(scope="module")
def edited_data(edited: Path) -> dict[str, Any]:
    return figures_json(edited)


@pytest.fixture(scope="module")
def review(project: Path, workspace: Path, base: Path, edited: Path) -> tuple[Any, dict[str, Any], Path]:
    out = workspace / "review"
    result = run("diff", str(base), str(edited), "--out", str(out), cwd=project, status=1)
    return result, json.loads((out / "changes.json").read_text(encoding="utf-8")), out


@pytest.fixture(scope="module")
def published(project: Path, workspace: Path, base: Path, edited: Path) -> tuple[Path, list[Any]]:
    site = workspace / "public"
    first = run("publish", "--build", str(base), "--site", str(site), cwd=project)
    second = run("publish", "--build", str(edited), "--site", str(site), "--label", "toll-rise", cwd=project)
    return site, [first, second]


@pytest.fixture
def broken(workspace: Path, tmp_path: Path) -> Path:
    """A copy of the project for one test to break (the module's cache still applies)."""
    target = tmp_path / "project"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("build", "public", ".memo-cache", "__pycache__"))
    return target


def edit(path: Path, old: str, new: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name}: {old!r} should occur once"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return text


# ---------------------------------------------------------------- the project's own files


@pytest.mark.parametrize(
    "template", sorted(PROJECT.joinpath("templates").rglob("*.j2")), ids=lambda p: p.relative_to(PROJECT).as_posix()
)
def test_the_projects_templates_type_no_number(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    assert hand_typed_numbers(source) == []
    assert numeric_literals_in_expressions(source) == []


def test_the_project_is_a_different_subject_with_units_of_its_own() -> None:
    groups = {name.split(".")[0] for name in MODEL["inputs"]}
    assert groups == {"traffic", "tolls", "operations", "bond"}
    assert 8 <= len(MODEL["inputs"]) <= 12 and 10 <= len(MODEL["figures"]) <= 20
    used = {spec["unit"] for spec in [*MODEL["inputs"].values(), *MODEL["figures"].values()]}
    assert set(MODEL["units"]) <= used, "every unit the project declares is used"
    for folder in ("templates", "charts", "styles"):
        for path in (PROJECT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert not FOREIGN.search(path.read_text(encoding="utf-8")), path


def test_memo_check_passes_in_the_project(project: Path) -> None:
    result = run("check", cwd=project)
    assert f"{len(MODEL['figures'])} figures" in result.stdout
    assert f"{len(_yaml('assumptions.yaml')['claims'])} claims hold" in result.stdout
    assert "warning" not in result.stderr, "every claim can fail"


def test_a_claim_fails_when_its_figures_turn(project: Path) -> None:
    result = run("check", "--set", "operations.opex=25e6", cwd=project, status=1)
    text = (project / "assumptions.yaml").read_text(encoding="utf-8")
    line, column = line_col(text, "coverage.dscr >= bond.rate_covenant")
    [message] = result.stderr.strip().splitlines()
    assert message.startswith(f"assumptions.yaml:{line}:{column}: error: claims.covenant_met: no longer holds")


# ---------------------------------------------------------------- the base build: HTML, PDF, site, figures.json


def test_the_html_has_the_projects_sections_and_prints_its_figures(base: Path, base_data: dict[str, Any]) -> None:
    page = Page((base / "memo.html").read_text(encoding="utf-8"))
    assert page.sections == list(SECTIONS)
    assert [text for tag, text in page.headings if tag == "h1"] == [base_data["memo"]["title"]]
    assert [text for tag, text in page.headings if tag == "h2"] == ["Contents", *SECTIONS.values()]
    assert "Risks the figures do not show" in [text for tag, text in page.headings if tag == "h3"]
    assert page.charts == sorted(base_data["charts"], key=lambda name: base_data["charts"][name]["number"])
    assert set(page.charts) == {"revenue_uses", "coverage_by_traffic"}
    # every figure of the model is printed somewhere (the method section lists them all), each as the memo formats it
    printed = {name for name, _ in page.printed}
    assert set(model_figures(base_data)) <= printed
    for name, text in page.printed:
        figure = base_data["figures"][name]
        forms = {shown(base_data, name)}
        if "low" in figure:
            forms |= {shown(base_data, name, "low"), shown(base_data, name, "high"), shown(base_data, name, "range")}
        assert text in forms, f"{name} printed as {text!r}, not as {forms}"
    tile = re.search(r"<dt>Coverage / covenant, times</dt><dd>(.*?)</dd>", (base / "memo.html").read_text(), re.S)
    assert tile is not None and shown(base_data, "coverage.dscr") in tile.group(1)


def test_the_pdf_has_pages_the_title_and_the_figures(base: Path, base_data: dict[str, Any]) -> None:
    pages, metadata = pdf_text(base / "memo.pdf")
    assert len(pages) >= 1 + len(SECTIONS)  # the cover, then each section on a page of its own
    assert metadata["/Title"] == base_data["memo"]["title"]
    everything = " ".join(" ".join(pages).split())
    assert base_data["memo"]["title"] in " ".join(pages[0].split())
    for name in ("revenue.gross", "bond.debt_service", "coverage.dscr", "coverage.breakeven_crossings"):
        assert shown(base_data, name) in everything, name
    for title in SECTIONS.values():
        assert title in everything
    # a footnote sits on the page of its call: the traffic section's first note (where the study forecasts traffic)
    [traffic] = [page for page in pages if page.lstrip().startswith(SECTIONS["traffic"])]
    assert "Chapter 6, forecast traffic, first full year" in " ".join(traffic.split())


def test_the_pdf_reads_the_html_through_the_fast_parse(base: Path) -> None:
    # memo.htmltree builds this project's memo.html as tinyhtml5 would, so its PDF skips WeasyPrint's parser
    assert same_as_html5(for_print((base / "memo.html").read_text(encoding="utf-8")))


def test_the_site_feed_and_card(base: Path, base_data: dict[str, Any]) -> None:
    site = base / "site"
    for name in ("index.html", "memo.html", "memo.pdf", "figures.json", "feed.xml", "social.png"):
        assert (site / name).is_file(), name
    assert (site / "figures.json").read_bytes() == (base / "figures.json").read_bytes()
    index = Page((site / "index.html").read_text(encoding="utf-8"))
    assert ("revenue.gross", shown(base_data, "revenue.gross")) in index.printed
    # the feed's summary is memo.yml's line with each {figure} as the memo prints it
    summary = re.sub(r"\{([a-z0-9_.]+)\}", lambda m: shown(base_data, m.group(1)), SETTINGS["feed"]["summary"])
    entry = ET.parse(site / "feed.xml").getroot().find("{http://www.w3.org/2005/Atom}entry")
    assert entry is not None and entry.findtext("{http://www.w3.org/2005/Atom}summary") == summary
    assert entry.findtext("{http://www.w3.org/2005/Atom}title") == base_data["memo"]["title"]
    assert (site / "social.png").read_bytes() == (base / "social.png").read_bytes()
    assert (base / "social.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_social_card_is_1200_by_630(base: Path) -> None:
    assert struct.unpack(">II", (base / "social.png").read_bytes()[16:24]) == (1200, 630)


def test_figures_json_has_the_projects_figures_inputs_and_units(base_data: dict[str, Any]) -> None:
    figures = model_figures(base_data)
    assert list(figures) == list(MODEL["figures"])
    assert {name: f["unit"] for name, f in figures.items()} == {n: f["unit"] for n, f in MODEL["figures"].items()}
    assert [name for name in base_data["inputs"] if not name.startswith(DERIVED)] == list(MODEL["inputs"])
    for name, unit in MODEL["units"].items():
        assert base_data["units"][name] == {"label": unit["label"], "format": unit["format"]}
    assert {"share", "change", "money"} <= set(base_data["units"])  # the engine's units it uses are listed too
    assumptions = _yaml("assumptions.yaml")
    for scenario in assumptions["scenarios"]:
        assert {f"scenario.{scenario}.{name}" for name in figures} <= set(base_data["figures"])
    assert set(base_data["sensitivity"]) == set(assumptions["sensitivity"])
    assert set(base_data["tornado"]) == set(SETTINGS["tornado"])
    assert [c["id"] for c in base_data["claims"]] == [c["id"] for c in assumptions["claims"]]
    assert all(c["result"] for c in base_data["claims"])
    assert [c["figure"] for c in base_data["source_checks"] if not c["holds"]] == ["revenue.gross"]
    assert base_data["inputs"]["tolls.collection_rate"]["estimate"] is True


def test_no_output_names_the_bundled_memos_subject(
    base: Path, edited: Path, review: tuple[Any, dict[str, Any], Path], published: tuple[Path, list[Any]]
) -> None:
    found = []
    for folder in (base, edited, review[2], published[0]):
        for path in sorted(folder.rglob("*")):
            if path.suffix == ".pdf":
                pages, metadata = pdf_text(path)
                text = " ".join([*pages, *map(str, metadata.values())])
            elif path.suffix in (".html", ".json", ".xml", ".csv", ".yaml", ".svg", ".txt", ".js", ".css"):
                text = DATA_URI.sub("", path.read_text(encoding="utf-8"))
            else:
                continue  # fonts and images
            found += [(str(path.relative_to(folder.parent)), m.group(0)) for m in FOREIGN.finditer(text)]
    assert found == []


# ---------------------------------------------------------------- the edited build, memo diff and memo publish


def test_the_edited_build_says_what_it_changed(edited: Path, base_data: dict[str, Any], edited_data: dict) -> None:
    item = edited_data["inputs"][EDITED]
    assert item["value"] == EDITED_TO and item["sourced"]["value"] == base_data["inputs"][EDITED]["value"]
    html = (edited / "memo.html").read_text(encoding="utf-8")
    given, assumed = (shown_input(edited_data, EDITED, v) for v in (item["sourced"]["value"], EDITED_TO))
    assert f"<code>{EDITED}</code>: the documents give {given}; this build assumes {assumed}." in html
    assert shown(edited_data, "coverage.dscr") != shown(base_data, "coverage.dscr")


def test_diff_names_the_edited_input_and_the_figures_it_moves(
    review: tuple[Any, dict[str, Any], Path], base_data: dict[str, Any], edited_data: dict[str, Any]
) -> None:
    result, changes, _ = review
    assert changes["differences"] is True
    assert [item["name"] for item in changes["inputs"]] == [EDITED]

    expected = {name for name in model_figures(base_data) if depends_on(base_data, name, EDITED)}
    moved = {f["name"]: f for f in changes["figures"] if not f["name"].startswith(DERIVED)}
    assert set(moved) == expected and "coverage.dscr" in expected and "bond.debt_service" not in expected
    for name, change in moved.items():
        assert change["caused_by"] == [EDITED]
        assert change["old_text"].startswith(shown(base_data, name))
        assert change["new_text"].startswith(shown(edited_data, name))
    assert EDITED in result.stdout and "coverage.dscr" in result.stdout
    assert {c["name"] for c in changes["charts"]} == {"revenue_uses", "coverage_by_traffic"}


def test_diff_of_two_identical_builds_finds_nothing(project: Path, workspace: Path, base: Path, again: Path) -> None:
    out = workspace / "review-identical"
    run("diff", str(base), str(again), "--out", str(out), cwd=project, status=0)
    assert json.loads((out / "changes.json").read_text(encoding="utf-8"))["differences"] is False


def test_publish_twice_keeps_two_versions(published: tuple[Path, list[Any]], base_data: dict[str, Any]) -> None:
    site, results = published
    labels = [base_data["memo"]["as_of"], "toll-rise"]
    for label, result in zip(labels, results, strict=True):
        assert f"published {label} at v/{label}/" in result.stdout
        for name in ("index.html", "memo.html", "memo.pdf", "figures.json"):
            assert (site / "v" / label / name).is_file()
    revisions = json.loads((site / "revisions.json").read_text(encoding="utf-8"))["revisions"]
    assert [r["label"] for r in revisions] == labels
    assert revisions[1]["inputs_changed"] == [EDITED]
    assert "coverage.dscr" in {c["name"] for c in revisions[1]["figures_changed"]}
    assert "v/toll-rise/" in (site / "index.html").read_text(encoding="utf-8")
    entries = ET.parse(site / "feed.xml").getroot().findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 2


def test_published_revisions_print_the_projects_units(
    published: tuple[Path, list[Any]], base_data: dict[str, Any]
) -> None:
    site, _ = published
    revisions = json.loads((site / "revisions.json").read_text(encoding="utf-8"))["revisions"]
    changed = {c["name"]: c for c in revisions[1]["figures_changed"]}
    assert changed["tolls.average_toll"]["old"] == shown(base_data, "tolls.average_toll")


# ---------------------------------------------------------------- mistakes in the project's files, at their place


def test_a_typo_in_a_charts_figure_name_is_one_line_at_its_place(broken: Path) -> None:
    text = edit(broken / "charts" / "revenue_uses.py", 'd.figure("bond.debt_service")', 'd.figure("bond.debt_servce")')
    line, column = line_col(text, 'd.figure("bond.debt_servce")')
    result = run("build", "--out", str(broken.parent / "out"), cwd=broken, status=1)
    [message] = result.stderr.strip().splitlines()
    assert message.startswith(f"charts/revenue_uses.py:{line}:{column}: error: ")
    assert "'bond.debt_servce'" in message and "did you mean 'bond.debt_service'?" in message
    assert not (broken.parent / "out").exists(), "a failed build writes nothing"


def test_a_formula_naming_an_unknown_input_is_reported_in_model_yaml(broken: Path) -> None:
    old = '"revenue.gross - operations.opex - operations.reserve_deposit"'
    text = edit(broken / "model.yaml", old, old.replace("operations.opex ", "operations.opexx "))
    line, column = line_col(text, '"revenue.gross - operations.opexx')
    result = run("check", cwd=broken, status=1)
    [message] = result.stderr.strip().splitlines()
    assert message.startswith(f"model.yaml:{line}:{column}: error: figures.revenue.net.formula: ")
    assert "'operations.opexx'" in message and "did you mean 'operations.opex'?" in message


def test_an_unknown_key_in_memo_yml_is_reported_with_a_suggestion(broken: Path) -> None:
    text = edit(broken / "memo.yml", "\ncard:\n", "\ncards:\n")
    line, column = line_col(text, "cards:")
    result = run("check", cwd=broken, status=1)
    [message] = result.stderr.strip().splitlines()
    assert message == f"memo.yml:{line}:{column}: error: cards: unknown key 'cards' (did you mean 'card'?)"
