"""Templates: no hand-typed figures, strict names, original prose."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memo import render
from memo.cache import Cache
from memo.errors import MemoError
from tests.conftest import ROOT

# Every project's templates: the bundled memo's, the starter project's (memo new) and the test projects', and the
# engine's own pages.
TEST_PROJECTS = sorted(p / "templates" for p in (ROOT / "tests" / "projects").glob("*") if (p / "templates").is_dir())
TEMPLATE_ROOTS = [
    ROOT / "templates",
    ROOT / "memo" / "scaffold" / "templates",
    ROOT / "memo" / "templates",
    *TEST_PROJECTS,
]
TEMPLATES = sorted(p for root in TEMPLATE_ROOTS for p in root.rglob("*.j2"))
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# A number standing as a word of its own: 12, 3.5, 1,000, $660M, 30%, 2.5x (E2EE or Pro+ are not numbers).
NUMBER = re.compile(r"(?<![\w.#&-])[$€£]?\d[\d,.]*\s?(?:%|x\b|[kKMBT]\b|bn\b)?(?![\w-])")
HTML_ENTITY = re.compile(r"&#?\w+;")


READABLE_ATTRIBUTES = re.compile(r"""\b(?:alt|title|aria-label)\s*=\s*(["'])(.*?)\1""", re.S)


def hand_typed_numbers(source: str) -> list[str]:
    """Numbers a reader sees in a template (text, and alt/title/label attributes), outside Jinja expressions."""
    text = JINJA.sub(" ", source)
    text = re.sub(r"<(style|svg)\b.*?</\1>", " ", text, flags=re.S)
    readable = [m.group(2) for m in READABLE_ATTRIBUTES.finditer(text)]
    text = re.sub(r"<[^>]*>", " ", text)
    text = HTML_ENTITY.sub(" ", " ".join([text, *readable]))
    return NUMBER.findall(text)


def numeric_literals_in_expressions(source: str) -> list[str]:
    """Numbers typed inside Jinja expressions, other than 0 and 1 (which only ever compare or count)."""
    found = []
    for block in JINJA.findall(source):
        block = re.sub(r"(['\"]).*?\1", " ", block)  # names inside strings are fine
        found += [n for n in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", block) if n not in ("0", "1")]
    return found


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_hand_typed_figures(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    assert hand_typed_numbers(source) == [], "numbers in templates must come from the model via fig() or a filter"
    assert numeric_literals_in_expressions(source) == []


@pytest.mark.parametrize(
    ("snippet", "found"),
    [
        ("<p>The market is $150B.</p>", ["$150B"]),
        ("<p>It trades at 11x sales</p>", ["11x"]),
        ("<p>Conversion of 5% on 3,000,000 users</p>", ["5%", "3,000,000"]),
        ("<p>In 2026 it grew</p>", ["2026"]),
        ("<p>E2EE and Pro+ on GLM-5 at {{ fig('x') }}</p>", []),
        ("{% if val('a') > 26 %}x{% endif %}", []),
        ('<td colspan="3">', []),
        ('<img alt="up 40% in May">', ["40%"]),
    ],
)
def test_the_lint_catches_numbers(snippet: str, found: list[str]) -> None:
    assert hand_typed_numbers(snippet) == found


def test_the_lint_catches_numbers_in_expressions() -> None:
    assert numeric_literals_in_expressions("{% if val('a') > 26 %}") == ["26"]
    assert numeric_literals_in_expressions("{{ fig('market.inference_2027') }} {% if x > 0 %}") == []


def _document(css: str = "") -> render.Document:
    from tests.bundled import compute, read_inputs
    from tests.conftest import BUNDLED

    assumptions = read_inputs(BUNDLED).assumptions
    figures, checks = compute(assumptions)
    return render.Document(assumptions, figures, checks, {}, {}, css)


def test_undefined_names_fail_the_build(tmp_path: Path) -> None:
    (tmp_path / "memo.html.j2").write_text("<p>{{ fig('users.paid') }} and {{ no_such_thing }}</p>\n")
    with pytest.raises(MemoError, match=r"memo.html.j2:1: error: template: 'no_such_thing' is undefined"):
        render.render_html(tmp_path, _document())


def test_unknown_figures_fail_the_build(tmp_path: Path) -> None:
    (tmp_path / "memo.html.j2").write_text("<p>\n{{ fig('users.payd') }}</p>\n")
    with pytest.raises(MemoError, match=r"memo.html.j2:2: error: template: no figure named 'users.payd'"):
        render.render_html(tmp_path, _document())


def test_compiled_templates_stay_in_memory_and_follow_edits(tmp_path: Path) -> None:
    store, folder = Cache(tmp_path / "cache"), tmp_path / "templates"
    folder.mkdir()
    page = folder / "memo.html.j2"
    page.write_text("<p>{{ fig('users.paid') }} paid users</p>\n")
    first = render.render_html(folder, _document(), cache=store)
    assert render.render_html(folder, _document(), cache=store) == first
    assert not (tmp_path / "cache").exists()  # the build cache holds data only, never compiled code
    page.write_text("<p>{{ fig('users.paid') }} paying users</p>\n{{ no_such_thing }}\n")
    for _ in range(2):  # compiled, then reused: the error still points at the template's line
        with pytest.raises(MemoError, match=r"memo.html.j2:2: error: template: 'no_such_thing' is undefined"):
            render.render_html(folder, _document(), cache=store)
    page.write_text("<p>{{ fig('users.paid') }} paying users</p>\n")
    assert "paying users" in render.render_html(folder, _document(), cache=store)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9$%]+", text.lower())


def test_no_sentence_of_the_source_is_copied() -> None:
    """No run of eight words in the templates or content appears in the source article."""
    source = (ROOT.parent / "shared" / "source" / "vvv-analysis.txt").read_text(encoding="utf-8")
    source_words = _words(source)
    shingles = {tuple(source_words[i : i + 8]) for i in range(len(source_words) - 7)}
    title = "in depth analysis of $vvv the undervalued privacy ai infrastructure and growth trajectory"
    ours = [*TEMPLATES, *(ROOT / "templates" / "content").glob("*.yaml"), ROOT / "assumptions.yaml"]
    for path in ours:
        text = JINJA.sub(" | ", path.read_text(encoding="utf-8"))
        words = _words(" ".join(_words(text)).replace(title, " "))
        copied = [" ".join(words[i : i + 8]) for i in range(len(words) - 7) if tuple(words[i : i + 8]) in shingles]
        assert copied == [], f"{path.name} repeats the source: {copied[:3]}"
