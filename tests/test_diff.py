"""memo diff: what an assumption edit changed, from figures to PDF pages."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tinyhtml5
from pypdf import PdfReader, PdfWriter

from memo.review import Changes, compare, pages, summary, write
from memo.review.changes import GuardChange, Sentence, closure, section_guarded, section_sentences
from memo.review.report import changes_json, index_html
from memo.review.sides import Side, load_side
from tests.bundled import build
from tests.conftest import BUNDLED, ROOT, memo

XHTML = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("builds")
    out = {"base": root / "base", "again": root / "again", "conversion": root / "conversion"}
    build(BUNDLED, out["base"])
    build(BUNDLED, out["again"])
    build(BUNDLED, out["conversion"], overrides=["users.conversion_rate=0.06"])
    return out


@pytest.fixture(scope="module")
def conversion(builds: dict[str, Path]) -> Changes:
    return compare(load_side(builds["base"], "OLD"), load_side(builds["conversion"], "NEW"))


def _report(stdout: str) -> list[str]:
    """memo diff's report: its stdout without the stage lines before it and the closing line after it."""
    lines = stdout.splitlines()
    assert lines[-1].startswith("memo diff: compared in ")
    return [line for line in lines[:-1] if not re.match(r"memo diff: [a-z ]+ +\d+\.\d\d s$", line)]


def _figures(path: Path) -> dict:
    return json.loads((path / "figures.json").read_text())["figures"]


def test_changed_inputs_and_exactly_the_dependent_figures(builds: dict[str, Path], conversion: Changes) -> None:
    assert [c["name"] for c in conversion.inputs] == ["users.conversion_rate"]
    assert conversion.inputs[0]["old"] == {"value": 0.05} and conversion.inputs[0]["new"] == {"value": 0.06}
    figures = _figures(builds["conversion"])
    memo_: dict[str, tuple[str, ...]] = {}
    dependents = {name for name in figures if "users.conversion_rate" in closure(figures, name, memo_)}
    reported = {f.name for f in conversion.figures}
    assert reported == dependents
    assert all(f.caused_by == ["users.conversion_rate"] for f in conversion.figures)
    paid = next(f for f in conversion.figures if f.name == "users.paid")
    assert (paid.text("old"), paid.text("new"), paid.change_text()) == ("150,000", "180,000", "+30,000 (+20%)")
    growth = next(f for f in conversion.figures if f.name == "users.paid_growth")  # a relative change: points
    assert (growth.text("old"), growth.text("new"), growth.change_text()) == ("50%", "80%", "+30 pt")


def test_the_charts_that_show_a_changed_figure(builds: dict[str, Path], conversion: Changes) -> None:
    charts = json.loads((builds["conversion"] / "figures.json").read_text())["charts"]
    changed = {f.name for f in conversion.figures}
    expected = {name for name, chart in charts.items() if set(chart["figures"]) & changed}
    assert {c["name"] for c in conversion.charts} == expected
    assert "privacy_ladder" not in expected and "users_over_time" in expected


def test_the_sentences_that_quote_a_changed_figure(builds: dict[str, Path], conversion: Changes) -> None:
    changed = {f.name for f in conversion.figures}
    tree = tinyhtml5.parse((builds["base"] / "memo.html").read_text())
    reported = {section: " ".join(s.old or "" for s in sentences) for section, sentences in conversion.prose.items()}
    affected = 0
    for section in tree.iter(f"{XHTML}section"):
        for block in [*section.iter(f"{XHTML}p"), *section.iter(f"{XHTML}li")]:
            quoted = ["".join(s.itertext()) for s in block.iter(f"{XHTML}span") if s.get("data-figure") in changed]
            if not quoted:
                continue
            affected += 1
            text = reported.get(section.get("id"), "")
            assert any(q in text for q in quoted), (section.get("id"), quoted)
    assert affected > 10
    assert "ladder" not in conversion.prose  # nothing there quotes the conversion rate
    growth = [s for s in conversion.prose["growth"] if s.old and "paying subscribers" in s.old]
    assert growth and ("insert", "(this build assumes 6%)") in growth[0].words  # the source's 5% stays
    assert any(s.new and "At this build's 6% Venice has" in s.new for s in conversion.prose["growth"])


def _page_texts(path: Path) -> list[str]:
    """Each page's text, its running "Page x of y" masked (a page-number change alone is not reported)."""
    texts = [re.sub(r"\s+", " ", p.extract_text() or "") for p in PdfReader(path).pages]
    return [re.sub(r"Page \d+ of \d+", "Page # of #", t) for t in texts]


def test_the_pages_that_changed(builds: dict[str, Path], conversion: Changes) -> None:
    old, new = _page_texts(builds["base"] / "memo.pdf"), _page_texts(builds["conversion"] / "memo.pdf")
    report = conversion.pages
    reported = {(c.old, c.new) for c in report.changes}
    chart_titles = [c["title"] for c in conversion.charts]
    for a, b in report.pairs:
        if a is None or b is None:
            assert (a, b) in reported
            continue
        text_differs = old[a - 1] != new[b - 1]
        if text_differs:
            assert (a, b) in reported, (a, b)
        elif (a, b) in reported:
            assert any(title in new[b - 1] for title in chart_titles), (a, b)
    ladder = next(i + 1 for i, t in enumerate(new) if t.find("The privacy ladder") != -1 and "Contents" not in t)
    assert ladder not in {c.new for c in report.changes}
    for change in report.changes:
        assert change.boxes and change.images["highlighted"].startswith(b"\x89PNG")


def test_unchanged_rebuild_exits_0(builds: dict[str, Path], tmp_path: Path) -> None:
    result = memo("diff", str(builds["base"]), str(builds["again"]), "--out", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no differences" in result.stdout
    assert json.loads((tmp_path / "d" / "changes.json").read_text())["differences"] is False


def test_differences_exit_1_with_review_page_and_changes_json(builds: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "review"
    result = memo("diff", str(builds["base"]), str(builds["conversion"]), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = _report(result.stdout)
    assert lines[2].startswith("Figures changed") and "users.paid" in result.stdout
    data = json.loads((out / "changes.json").read_text())
    assert data["differences"] is True
    assert {f["name"] for f in data["figures"]} >= {"users.paid", "arr.current", "valuation.ps_forward"}
    for change in data["pages"]["changed"]:
        for image in change["images"].values():
            assert (out / image).is_file()
    html = (out / "index.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    assert "Content-Security-Policy" in html and "<script" not in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def _nudged(builds: dict[str, Path], target: Path, **factors: float) -> Path:
    """A copy of the base build whose figures.json has the named figures (all their values) multiplied."""
    shutil.copytree(builds["base"], target)
    data = json.loads((target / "figures.json").read_text())
    for name, factor in factors.items():
        entry = data["figures"][name]
        for key in ("value", "low", "high"):
            if key in entry:
                entry[key] *= factor
    (target / "figures.json").write_text(json.dumps(data))
    return target


def test_a_change_below_display_precision_is_listed_apart_and_exits_0(builds: dict[str, Path], tmp_path: Path) -> None:
    nudged = _nudged(builds, tmp_path / "nudged", **{"valuation.ps_forward": 1 + 1e-12})
    result = memo("diff", str(builds["base"]), str(nudged), "--out", "d", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = _report(result.stdout)
    assert lines[0].startswith("memo diff: no differences between OLD") and lines[0].endswith(" at display precision")
    assert lines[2] == (
        "Figures changed below display precision (1): not counted in the exit status; --strict counts them"
    )
    assert "valuation.ps_forward" in lines[4] and "Figures changed (" not in result.stdout
    data = json.loads((tmp_path / "d" / "changes.json").read_text())
    assert (data["differences"], data["differences_strict"]) == (False, True)
    [figure] = data["figures"]
    assert figure["below_display_precision"] is True and figure["old_text"] == figure["new_text"]
    html = (tmp_path / "d" / "index.html").read_text()
    assert "No differences at display precision." in html and "Changed below display precision (1)" in html

    strict = memo("diff", str(builds["base"]), str(nudged), "--strict", "--out", "s", cwd=tmp_path)
    assert strict.returncode == 1, strict.stderr
    assert "counted, as --strict asks" in strict.stdout


def test_a_shown_change_and_one_below_precision(builds: dict[str, Path], tmp_path: Path) -> None:
    both = _nudged(builds, tmp_path / "both", **{"valuation.ps_forward": 1 + 1e-12, "users.paid": 1.01})
    result = memo("diff", str(builds["base"]), str(both), "--out", "d", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    shown, _, hidden = result.stdout.partition("below display precision")
    assert "Figures changed (1)" in shown and "users.paid" in shown and "valuation.ps_forward" not in shown
    assert "valuation.ps_forward" in hidden and "users.paid " not in hidden
    data = json.loads((tmp_path / "d" / "changes.json").read_text())
    flags = {f["name"]: f["below_display_precision"] for f in data["figures"]}
    assert flags == {"valuation.ps_forward": True, "users.paid": False}
    assert data["differences"] is True


def _with_blank_page(source: Path, target: Path, index: int) -> None:
    writer = PdfWriter(clone_from=str(source))
    box = writer.pages[0].mediabox
    writer.insert_blank_page(width=box.width, height=box.height, index=index)
    with open(target, "wb") as handle:
        writer.write(handle)


def test_an_inserted_page_is_the_only_change(builds: dict[str, Path], tmp_path: Path) -> None:
    _with_blank_page(builds["base"] / "memo.pdf", tmp_path / "inserted.pdf", 4)
    report = pages.compare(builds["base"] / "memo.pdf", tmp_path / "inserted.pdf", images=False)
    assert [(c.status, c.old, c.new) for c in report.changes] == [("inserted", None, 5)]
    assert report.new_pages == report.old_pages + 1


def test_an_inserted_page_and_true_changes(builds: dict[str, Path], conversion: Changes, tmp_path: Path) -> None:
    _with_blank_page(builds["conversion"] / "memo.pdf", tmp_path / "inserted.pdf", 4)
    report = pages.compare(builds["base"] / "memo.pdf", tmp_path / "inserted.pdf", images=False)
    shifted = {(c.status, c.old, None if c.new is None else c.new + (c.new > 4)) for c in conversion.pages.changes}
    assert {(c.status, c.old, c.new) for c in report.changes} == shifted | {("inserted", None, 5)}


def test_two_pdfs_alone(builds: dict[str, Path], tmp_path: Path) -> None:
    result = memo(
        "diff", str(builds["base"] / "memo.pdf"), str(builds["conversion"] / "memo.pdf"), "--out", "d", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    assert "PDF pages changed" in result.stdout and "Figures changed" not in result.stdout


def test_an_assumptions_file_is_built_on_the_fly(builds: dict[str, Path], tmp_path: Path) -> None:
    edited = tmp_path / "edited.yaml"
    edited.write_text(BUNDLED.read_text().replace("    value: 14\n", "    value: 15\n"))
    result = memo("diff", str(builds["base"]), str(edited), "--out", "d", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    names = {f["name"] for f in json.loads((tmp_path / "d" / "changes.json").read_text())["figures"]}
    expected = {"token.price", "token.circulating_supply", "token.fully_diluted_supply"}
    assert names == expected | {f"scenario.{s}.{n}" for s in ("bear", "base", "bull") for n in expected}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("missing-dir", "{base}"), r"OLD \(missing-dir\): no such file or directory: missing-dir"),
        (("{base}/figures.json", "{base}"), "is neither a build directory, an assumptions file nor a PDF"),
        (("{empty}", "{base}"), "has no figures.json; is it a build directory?"),
        (("{broken_pdf}", "{base}/memo.pdf"), "is not a PDF"),
        (("{bad_yaml}", "{base}"), "must be between 0 and 1, got 1.5"),
        (("{base}",), "name exactly two sides"),
        (("{base}/memo.pdf", "{base}"), "compare two PDFs, or two builds"),
        (("--rev", "no-such-revision-xyz", "{base}"), "inside a git checkout|unknown git revision"),
    ],
)
def test_trouble_exits_2(builds: dict[str, Path], tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.pdf").write_text("not a pdf")
    (tmp_path / "bad.yaml").write_text(BUNDLED.read_text().replace("    high: 0.15\n", "    high: 1.5\n"))
    names = {"base": builds["base"], "empty": tmp_path / "empty", "broken_pdf": tmp_path / "broken.pdf"}
    names["bad_yaml"] = tmp_path / "bad.yaml"
    result = memo("diff", *(a.format(**names) for a in args), "--out", "d", cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_rev_compares_the_last_commit_with_the_working_tree(tmp_path: Path) -> None:
    """The project is a folder inside the repository; the revision is built with its own project files."""
    repository = tmp_path / "repository"
    project = repository / "memos" / "first"
    project.mkdir(parents=True)
    for name in ("templates", "charts", "styles", "assets"):
        shutil.copytree(ROOT / name, project / name)
    for name in ("memo.yml", "model.yaml"):
        shutil.copy(ROOT / name, project / name)
    shutil.copy(BUNDLED, project / "assumptions.yaml")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "memo"]):
        subprocess.run([*git, *command], cwd=repository, check=True, capture_output=True)
    path = project / "assumptions.yaml"
    path.write_text(path.read_text().replace("    value: 0.05\n", "    value: 0.06\n"))
    result = memo("diff", "--rev", "HEAD", "--out", "d", cwd=project)
    assert result.returncode == 1, result.stderr
    data = json.loads((project / "d" / "changes.json").read_text())
    assert [c["name"] for c in data["inputs"]] == ["users.conversion_rate"]
    assert data["old"]["label"] == "OLD (HEAD)" and data["new"]["label"] == "NEW (working tree)"


# ---------------------------------------------------------------- claims, guards and sourced inputs (hand-made sides)


def _data(**parts: object) -> dict:
    data: dict = {"schema_version": 1, "figures": {}, "inputs": {}, "claims": [], "build": {"versions": {}}}
    data.update(parts)
    return data


def _side(root: Path, label: str, data: dict, html: str | None = None) -> Side:
    """A build directory with only figures.json (and memo.html when given), as a side of the diff."""
    folder = root / label.lower()
    folder.mkdir()
    (folder / "figures.json").write_text(json.dumps(data))
    if html is not None:
        (folder / "memo.html").write_text(f"<!doctype html><html><body>{html}</body></html>")
    return Side(label, folder, None, data)


def _claim(claim_id: str, holds: str, result: bool) -> dict:
    return {"id": claim_id, "text": f"the {claim_id} claim", "holds": holds, "result": result, "values": {}}


def test_claims_whose_verdict_or_expression_changed(tmp_path: Path) -> None:
    old = _data(
        claims=[
            _claim("flips", "a.x < b.y", True),
            _claim("steady", "a.x > 0", True),
            _claim("reworded", "a.x < b.y / 2", True),
            _claim("dropped", "b.y > 1", False),
        ]
    )
    new = _data(
        claims=[
            _claim("flips", "a.x < b.y", False),
            _claim("steady", "a.x > 0", True),
            _claim("reworded", "a.x < b.y / 3", True),
            _claim("fresh", "b.y < 100", True),
        ]
    )
    changes = compare(_side(tmp_path, "OLD", old), _side(tmp_path, "NEW", new))
    assert changes.any and not changes.inputs and not changes.figures
    assert [(c["id"], c["status"]) for c in changes.claims] == [
        ("flips", "verdict changed"),
        ("reworded", "expression changed"),
        ("dropped", "removed"),
        ("fresh", "added"),
    ]
    flips = changes.claims[0]
    assert flips["old"] == {"result": True, "holds": "a.x < b.y"} and flips["new"]["result"] is False
    assert changes.claims[2]["new"] is None and changes.claims[3]["old"] is None
    text = summary(changes, None)
    assert "Claims changed (4)\n  flips: holds \u2192 fails\n" in text
    assert "  reworded: expression changed, still holds: a.x < b.y / 2 \u2192 a.x < b.y / 3" in text
    assert "  dropped: removed (it failed)" in text and "  fresh: added, holds: b.y < 100" in text
    assert "steady" not in text
    data = changes_json(changes)
    assert data["differences"] is True and data["claims"][0] == {
        "id": "flips",
        "text": "the flips claim",
        "old": {"result": True, "holds": "a.x < b.y"},
        "new": {"result": False, "holds": "a.x < b.y"},
        "status": "verdict changed",
    }
    page = index_html(changes)
    assert "<h2>Claims changed (4)</h2>" in page and "a.x &lt; b.y / 3" in page


def test_claims_with_the_same_verdict_and_expression_are_no_difference(tmp_path: Path) -> None:
    claims = [_claim("steady", "a.x > 0", True)]
    same = dict(claims=claims, memo={"title": "x"})
    old, new = _side(tmp_path, "OLD", _data(**same)), _side(tmp_path, "NEW", _data(**same, note="bytes differ"))
    changes = compare(old, new)
    assert not changes.claims and not changes.any


def _guarded(verdict: str, tail: str = "its peer.") -> str:
    guard = f"compare valuation.ps_current vs peers.openrouter_ps: {verdict}"
    return (
        "<section id='valuation'><h2>Valuation</h2>"
        f"<p>VVV trades <span data-guard='{guard}'>well below</span> {tail} The forward multiple is "
        "<span data-guard='claim forward_below_current: valuation.ps_forward &lt; valuation.ps_current: holds'>"
        "lower</span>.</p></section>"
    )


def test_a_sentence_whose_guard_changed_but_not_its_words(tmp_path: Path) -> None:
    old = _side(tmp_path, "OLD", _data(), _guarded("well below"))
    new = _side(tmp_path, "NEW", _data(), _guarded("about level"))
    changes = compare(old, new)
    assert not changes.prose and changes.any
    sentence = "VVV trades well below its peer."
    assert changes.guards == {
        "valuation": [
            GuardChange(
                sentence,
                ("compare valuation.ps_current vs peers.openrouter_ps: well below",),
                ("compare valuation.ps_current vs peers.openrouter_ps: about level",),
            )
        ]
    }
    text = summary(changes, None)
    assert (
        "Sentences whose guard changed (1)\n  [valuation] VVV trades well below its peer.\n"
        "      compare valuation.ps_current vs peers.openrouter_ps: well below \u2192 "
        "compare valuation.ps_current vs peers.openrouter_ps: about level\n"
    ) in text
    data = changes_json(changes)
    assert data["guards"] == {
        "valuation": [
            {
                "sentence": sentence,
                "old": ["compare valuation.ps_current vs peers.openrouter_ps: well below"],
                "new": ["compare valuation.ps_current vs peers.openrouter_ps: about level"],
            }
        ]
    }
    assert data["prose"] == {}
    page = index_html(changes)
    assert "<h2>Sentences whose guard changed (1)</h2>" in page and "about level" in page
    # when the words change too, the word diff shows it and the guard is not listed again
    reworded = _side(tmp_path, "REWORDED", _data(), _guarded("about level", "its closest peer."))
    changes = compare(old, reworded)
    assert list(changes.prose) == ["valuation"] and not changes.guards


def test_guards_begin_in_the_sentence_of_their_first_word() -> None:
    html = (
        "<section id='s'><p>First sentence ends here. <span data-guard='g1'>Second</span> sentence has "
        "<em data-guard='g2'><b data-guard='g3'>two</b> guards</em>.</p>"
        "<div data-guard='g4'><p> Wrapped block.</p></div>"
        "<p>Empty guard here<span data-guard='g5'></span>. Next one.</p>"
        "<table><tr><td data-guard='g6'>cell</td><td>other</td></tr></table></section>"
    )
    plain = re.sub(r" data-guard='[^']*'", "", html)
    assert section_sentences(html) == section_sentences(plain)
    assert section_guarded(html)["s"] == [
        Sentence("First sentence ends here."),
        Sentence("Second sentence has two guards.", ("g1", "g2", "g3")),
        Sentence("Wrapped block.", ("g4",)),
        Sentence("Empty guard here.", ("g5",)),
        Sentence("Next one."),
        Sentence("cell \u00b7 other", ("g6",)),
    ]


def _input(value: float, sourced: float | None, source: bool = True) -> dict:
    entry: dict = {"value": value, "unit": "share", "estimate": False}
    if source:
        entry["source"] = {"ref": "vvv-analysis", "where": "growth", "date": "2026-05-16"}
    if sourced is not None:
        entry["sourced"] = {"value": sourced}
    return entry


def test_a_sourced_input_changed_in_the_file_and_one_changed_by_set(tmp_path: Path) -> None:
    figure = {"unit": "share", "formula": "...", "label": "Blend"}
    old = _data(
        inputs={
            "users.conversion_rate": _input(0.05, 0.05),  # the file's value edited
            "users.churn": _input(0.02, 0.02),  # only --set on the new side
            "users.retention": _input(0.9, 0.9),  # the file edited to what --set gave before
            "users.legacy": _input(0.3, None),  # a build from before "sourced"
        },
        figures={"blend": {**figure, "value": 1.0, "inputs": ["users.churn", "users.retention"]}},
    )
    new = _data(
        inputs={
            "users.conversion_rate": _input(0.06, 0.06),
            "users.churn": _input(0.03, 0.02),
            "users.retention": _input(0.9, 0.8),
            "users.legacy": _input(0.4, 0.4),
        },
        figures={"blend": {**figure, "value": 2.0, "inputs": ["users.churn", "users.retention"]}},
    )
    changes = compare(_side(tmp_path, "OLD", old), _side(tmp_path, "NEW", new))
    flags = {c["name"]: c["sourced_changed"] for c in changes.inputs}
    assert flags == {
        "users.conversion_rate": True,
        "users.churn": False,
        "users.retention": True,
        "users.legacy": False,
    }
    assert changes.figures[0].caused_by == ["users.churn"]  # retention's value did not change
    text = summary(changes, None)
    assert "  users.conversion_rate: sourced input changed: check the source\n" in text
    assert "  users.retention: sourced input changed: check the source\n" in text
    assert "users.churn: sourced" not in text and "users.legacy: sourced" not in text
    data = changes_json(changes)
    assert [c["sourced_changed"] for c in data["inputs"]] == [True, False, True, False]
    assert "sourced input changed: check the source" in index_html(changes)


def test_changes_json_keeps_its_keys_and_adds_claims_and_guards(tmp_path: Path) -> None:
    old = _side(tmp_path, "OLD", _data(claims=[_claim("flips", "a < b", True)]), _guarded("well below"))
    new = _side(tmp_path, "NEW", _data(claims=[_claim("flips", "a < b", False)]), _guarded("about level"))
    out = tmp_path / "review"
    write(compare(old, new), out)
    data = json.loads((out / "changes.json").read_text())
    assert set(data) >= {  # names are a public contract: new keys may join, none may go
        "schema_version",
        "differences",
        "differences_strict",
        "old",
        "new",
        "tools_changed",
        "inputs",
        "figures",
        "claims",
        "prose",
        "guards",
        "charts",
        "words",
        "pages",
    }
    assert data["differences"] is True and data["claims"][0]["status"] == "verdict changed"
    assert list(data["guards"]) == ["valuation"]
    html = (out / "index.html").read_text()
    assert "Claims changed (1)" in html and "Sentences whose guard changed (1)" in html
    assert "valuation.ps_forward &lt; valuation.ps_current" not in html  # unchanged guard not shown
