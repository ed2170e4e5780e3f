"""Prose that stays true: after any assumption edit, every sentence is true for the inputs it was built from, or
visibly marked as a failing claim.

Each edit is rendered to HTML (no PDF) and read as a reviewer would: the memo's body, its captions, the charts' alt
texts and the site's index page. The same checks hold for every edit: no signed number after a word of direction,
no edited value credited to the source, the count of the source's own slips unchanged, every failing claim's
sentence marked, no share above 100%.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import tinyhtml5

from memo import claims
from memo import format as fmt
from memo.cache import Cache
from memo.claims import counterexample
from memo.errors import InputError
from tests import bundled as build
from tests.bundled import MODEL
from tests.conftest import BUNDLED, line_col
from tests.conftest import memo as run_memo

NS = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
BLOCKS = {"p", "li", "h1", "h2", "h3", "dt", "dd", "figcaption", "caption", "td", "th", "title", "summary"}


def scaled(name: str, factor: float, low: float, base: float, high: float) -> tuple[str, ...]:
    """A ranged input moved as a whole: its low, base and high multiplied by ``factor``."""
    return tuple(f"{name}.{key}={value * factor!r}" for key, value in (("low", low), ("base", base), ("high", high)))


# Every ranged or scaled input far down and far up within its legal range, each scenario, and the examples.
EDITS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "base": ((), None),
    "conversion down": (("users.conversion_rate=0.004",), None),
    "conversion up": (("users.conversion_rate=0.6",), None),
    "conversion 8%": (("users.conversion_rate=0.08",), None),
    "arppu down": (scaled("subs.arppu_monthly", 1, 18, 18, 18), None),  # the Pro price is its floor
    "arppu up": (scaled("subs.arppu_monthly", 9, 18, 18.5, 19), None),
    "anchor down": (scaled("growth.base_new_sub_arr", 0.1, 100e6, 100e6, 134e6), None),
    "anchor up": (scaled("growth.base_new_sub_arr", 5, 100e6, 100e6, 134e6), None),
    "historical ratio down": (scaled("api.ratio_historical", 0.1, 0.7, 0.75, 0.8), None),
    "historical ratio up": (scaled("api.ratio_historical", 4, 0.7, 0.75, 0.8), None),
    "inference market down": (scaled("market.inference_2027", 0.05, 140e9, 150e9, 160e9), None),
    "inference market up": (scaled("market.inference_2027", 10, 140e9, 150e9, 160e9), None),
    "privacy share down": (scaled("market.privacy_share", 0.1, 0.05, 0.10, 0.15), None),
    "privacy share up": (scaled("market.privacy_share", 6, 0.05, 0.10, 0.15), None),
    "token price down": (("token.price=1.75",), None),
    "token price up": (("token.price=112",), None),
    "market cap down": (("valuation.market_cap=66e6",), None),
    "market cap up": (("valuation.market_cap=1.1e9",), None),
    "fdv up": (("valuation.fdv=9.5e9",), None),
    "paid earlier above today": (("users.paid_earlier=200000",), None),
    "weekly pace fell": (("growth.new_sub_arr_week3=1.5e6",), None),
    "week 2 above both": (("growth.new_sub_arr_week2=3.1e6",), None),
    "throughput fell": (("usage.tokens_per_day_latest=12e9",), None),
    "recent ratio down": (("api.ratio_recent=0.2",), None),
    "recent ratio up": (("api.ratio_recent=3",), None),
    "peer multiple below vvv": (("peers.openrouter_ps=4",), None),
    "chatgpt share above venice": (("api.chatgpt_api_share=0.6",), None),
    "registrations flat": (("users.registered=2.05e6",), None),
    "bull": ((), "bull"),
    "bear": ((), "bear"),
    "base scenario": ((), "base"),
}


@dataclass
class Reading:
    name: str
    overrides: tuple[str, ...]
    scenario: str | None
    memo: build.RenderedMemo
    sentences: list[str]


def readable_text(html: str) -> list[str]:
    """What a reader reads, as sentences: the page's text blocks and each chart's alt text (its SVG title)."""
    tree = tinyhtml5.parse(html)
    blocks: list[str] = []
    for element in tree.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag == f"{SVG}title" or (tag.startswith(NS) and tag.removeprefix(NS) in BLOCKS):
            if tag.startswith(NS) and element.find(f".//{SVG}svg") is not None:
                continue
            blocks.append(_text(element))
    return [s for block in blocks for s in re.split(r"(?<=[.;!?])\s+(?=[A-Z$\u2212(0-9])", block) if s]


def _text(element) -> str:
    parts: list[str] = []

    def walk(node) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag.removeprefix(NS) in ("style", "script") or tag == f"{SVG}svg":
            if node.tail:
                parts.append(node.tail)
            return
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if node.tail and node is not element:
            parts.append(node.tail)

    walk(element)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


@pytest.fixture(scope="module")
def readings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reading]:
    store = Cache(tmp_path_factory.mktemp("cache"))
    out = {}
    for name, (overrides, scenario) in EDITS.items():
        memo = build.render_memo(BUNDLED, overrides, scenario=scenario, allow_failing_claims=True, store=store)
        out[name] = Reading(name, overrides, scenario, memo, readable_text(memo.html) + readable_text(memo.index_html))
    return out


GROWTH_WORDS = (
    r"up|down|rose|fell|grew|grown|growth|increase[sd]?|decrease[sd]?|more than|fewer than|less than|higher|lower"
    r"|rise|fall|gain|drop"
)
SIGNED_AFTER = re.compile(rf"\b(?:{GROWTH_WORDS})\b(?:\s+(?:by|of|to))?\s*[\u2212-]\s?[$\d]", re.I)
SIGNED_BEFORE = re.compile(r"[\u2212-]\s?[$]?\d[\d.,]*\s?[%xMBK]?\s+(?:more|fewer|less|below|above|higher|lower)\b")


def test_there_are_enough_edits() -> None:
    assert len([name for name in EDITS if name != "base"]) >= 25


@pytest.mark.parametrize("edit", list(EDITS))
def test_no_signed_number_after_a_growth_word(readings: dict[str, Reading], edit: str) -> None:
    bad = [s for s in readings[edit].sentences if SIGNED_AFTER.search(s) or SIGNED_BEFORE.search(s)]
    assert bad == []


def test_the_scan_catches_sign_blind_words() -> None:
    for sentence in ("150,000 paid subscribers, \u221225% more than the 200,000", "(up \u221225%)", "grew by -25%"):
        assert SIGNED_AFTER.search(sentence) or SIGNED_BEFORE.search(sentence), sentence
    assert not SIGNED_AFTER.search("paid subscribers were down 25%")


CREDITS_SOURCE = re.compile(r"\b(?:the source|source's|its own inputs|according to|per the source|the author)\b", re.I)


def _edited_values(reading: Reading) -> dict[str, list[str]]:
    """Each sourced input this edit changed, with the ways its new value can be printed."""
    memo = reading.memo
    out = {}
    for name, given in memo.document.sourced.items():
        used = memo.assumptions.inputs[name]
        if not used.differs_from(given):
            continue
        shown = [fmt.by_unit(used.number, used.unit)]
        if used.low is not None:
            shown.append(fmt.span(used.low, used.high, used.unit))
        source_shown = {fmt.by_unit(given.number, given.unit)}
        out[name] = [s for s in shown if s not in source_shown]
    return out


@pytest.mark.parametrize("edit", [name for name in EDITS if name != "base"])
def test_no_edited_value_is_credited_to_the_source(readings: dict[str, Reading], edit: str) -> None:
    reading = readings[edit]
    edited = _edited_values(reading)
    bad = [
        (name, sentence)
        for name, shown in edited.items()
        for sentence in reading.sentences
        if CREDITS_SOURCE.search(sentence)
        and "this build" not in sentence.lower()
        and _may_be_about(sentence, name)
        and any(re.search(rf"(?<![\d.$]){re.escape(value)}(?![\d])", sentence) for value in shown)
    ]
    assert bad == []


def _may_be_about(sentence: str, name: str) -> bool:
    """False for a sentence that names the inputs it speaks of, such as a number's provenance description
    ("Pro tier price (subs.price_pro), as the source gives it: $18."), when ``name`` is not among them: the same
    digits there are another input's value, not the edited one credited to the source."""
    named = set(re.findall(r"\(([a-z_]+(?:\.[a-z0-9_]+)+)\)", sentence))
    return not named or name in named


@pytest.mark.parametrize("edit", [name for name in EDITS if name != "base"])
def test_the_source_slips_do_not_move_with_an_edit(readings: dict[str, Reading], edit: str) -> None:
    def slips(reading: Reading) -> list[str]:
        return [c.figure for c in reading.memo.checks if not c.holds]

    assert slips(readings[edit]) == slips(readings["base"])
    assert len(slips(readings["base"])) == 7


@pytest.mark.parametrize("edit", list(EDITS))
def test_every_failing_claim_is_marked_and_no_holding_one_is(readings: dict[str, Reading], edit: str) -> None:
    memo = readings[edit].memo
    for result in memo.analysis.claims:
        spans = re.findall(rf'<span class="(claim[^"]*)" data-claim="{result.claim.id}"', memo.html + memo.index_html)
        assert spans, f"claim {result.claim.id} is placed nowhere"
        expected = "claim" if result.holds else "claim failing"
        assert set(spans) == {expected}, (result.claim.id, result.holds)


def test_the_edits_make_claims_fail() -> None:
    """The edits are hard enough: several of them fail claims (so marking is exercised)."""
    failing = {
        name
        for name, (overrides, scenario) in EDITS.items()
        if not all(r.holds for r in build.check(BUNDLED, overrides, scenario=scenario).claims)
    }
    assert {"peer multiple below vvv", "weekly pace fell", "chatgpt share above venice"} <= failing


PERCENT_OF = re.compile(r"(\d[\d,.]*)% of\b")


@pytest.mark.parametrize("edit", list(EDITS))
def test_no_share_above_a_whole(readings: dict[str, Reading], edit: str) -> None:
    memo = readings[edit].memo
    for figure in memo.figures.values():
        if figure.unit == "share":
            assert 0 <= figure.value <= 1, figure.name
    too_big = [
        s for s in readings[edit].sentences for m in PERCENT_OF.finditer(s) if float(m[1].replace(",", "")) > 100
    ]
    assert too_big == []


def test_scenario_table_is_the_same_whichever_scenario_is_built(readings: dict[str, Reading]) -> None:
    def table(reading: Reading) -> dict[str, float]:
        return {n: f.value for n, f in reading.memo.document.figures.items() if n.startswith("scenario.")}

    base = table(readings["base"])
    for name in ("bull", "bear", "base scenario"):
        assert table(readings[name]) == base, name
    bull = readings["bull"].memo.figures["valuation.ps_forward"].value
    assert bull == base["scenario.bull.valuation.ps_forward"] != base["scenario.base.valuation.ps_forward"]


@pytest.mark.parametrize("scenario", ["bull", "bear"])
def test_scenario_builds_name_their_scenario(readings: dict[str, Reading], scenario: str) -> None:
    memo = readings[scenario].memo
    label = f"{scenario.capitalize()} scenario"
    assert label in memo.html and label in memo.index_html
    assert "Built for the " + scenario + " scenario" in memo.index_html


def test_attribution_prints_the_source_value_beside_this_builds(readings: dict[str, Reading]) -> None:
    sentences = readings["conversion 8%"].sentences
    credited = [s for s in sentences if "The source assumes that" in s]
    assert credited and all("5%" in s and "(this build assumes 8%)" in s for s in credited)
    base = [s for s in readings["base"].sentences if "The source assumes that" in s]
    assert base and all("5%" in s and "this build" not in s for s in base)


def test_words_follow_the_direction_of_a_change(readings: dict[str, Reading]) -> None:
    text = " ".join(readings["paid earlier above today"].sentences)
    assert "25% fewer than the 200,000" in text and "paid subscribers were down 25%" in text
    assert "Paid subscribers (down 25%)" in readings["paid earlier above today"].memo.charts["users_over_time"].svg
    assert "went from 200,000 to 150,000, down 25%" in text  # the chart's alt text
    slowing = " ".join(readings["weekly pace fell"].sentences)
    assert "a decrease of 25%" in slowing and "fell by 25%" in slowing


def test_sensitivity_outline_follows_the_base(readings: dict[str, Reading]) -> None:
    for edit in ("base", "token price up"):
        grid = readings[edit].memo.analysis.grids["growth_price"]
        price = readings[edit].memo.assumptions.inputs["token.price"].number
        assert grid.base_column is not None and grid.columns[grid.base_column] == pytest.approx(price)


# ---------------------------------------------------------------- claims can fail


def _as_overrides(values: dict[str, float], assumptions) -> list[str]:
    out = []
    for name, value in values.items():
        item = assumptions.inputs[name]
        keys = ("low", "base", "high") if item.low is not None else ("value",)
        out += [f"{name}.{key}={value!r}" for key in keys]
    return out


def test_every_claim_can_fail() -> None:
    """For each claim there is a legal assignment of inputs (within the units' bounds and the constraints) that
    makes it fail: a guard that cannot fail is no guard."""
    inputs = build.read_inputs(BUNDLED)
    quantities = build.quantities(inputs.assumptions)
    constraints = inputs.assumptions.constraints
    for claim in inputs.assumptions.claims:
        found = counterexample(claim, quantities, MODEL, constraints=constraints)
        assert found is not None, f"claim {claim.id} held for every input tried"
        try:
            result = build.check(BUNDLED, _as_overrides(found, inputs.assumptions))
        except InputError as exc:  # pragma: no cover - the search must respect the constraints
            pytest.fail(f"{claim.id}: counterexample {found} is not legal: {exc}")
        verdict = {r.claim.id: r.holds for r in result.claims}
        assert verdict[claim.id] is False, (claim.id, found)


def test_a_claim_that_cannot_fail_is_found_out() -> None:
    inputs = build.read_inputs(BUNDLED)
    quantities = build.quantities(inputs.assumptions)
    always = claims.Claim("always", "always", "arr.forward >= arr.current", "f", 1, 1)
    assert counterexample(always, quantities, MODEL) is None


def test_every_claim_is_placed_in_the_memo(readings: dict[str, Reading]) -> None:
    html = readings["base"].memo.html
    for claim in readings["base"].memo.assumptions.claims:
        assert f'data-claim="{claim.id}"' in html, claim.id


def test_memo_check_warns_about_a_claim_that_cannot_fail(tmp_path, bundled_text: str) -> None:
    claim = "  - id: forward_below_current\n"
    text = bundled_text.replace(
        claim,
        '  - id: never_fails\n    text: "Forward ARR is at least current ARR"\n'
        "    holds: arr.forward >= arr.current\n" + claim,
    )
    (tmp_path / "assumptions.yaml").write_text(text)
    result = run_memo("check", "--assumptions", str(tmp_path / "assumptions.yaml"), cwd=tmp_path)
    line, col = line_col(text, "holds: arr.forward >= arr.current", offset=len("holds: "))
    assert result.returncode == 0
    assert f"assumptions.yaml:{line}:{col}: warning: claims.never_fails: held for every input tried" in result.stderr
    assert "forward_below_current" not in result.stderr


def test_a_grid_caption_says_where_an_off_grid_base_lies(tmp_path, bundled_text: str) -> None:
    relative = "columns: {input: token.price, multipliers: [0.5, 0.75, 1, 1.5, 2]"
    assert relative in bundled_text
    text = bundled_text.replace(relative, "columns: {input: token.price, values: [7, 10.5, 14, 21, 28]")
    (tmp_path / "assumptions.yaml").write_text(text)
    memo = build.render_memo(tmp_path / "assumptions.yaml", ("token.price=50",), allow_failing_claims=True)
    sentences = readable_text(memo.html)
    assert any(
        "is not on this grid, so no cell is outlined" in s
        and "VVV token price of $50 lies above the highest value, $28" in s
        for s in sentences
    ), [s for s in sentences if "grid" in s]
    assert "The outlined cell is the base case" in " ".join(sentences)  # the other grid, relative, follows the base


# ---------------------------------------------------------------- the published files of a scenario build


@pytest.fixture(scope="module")
def bull_build(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("bull")
    build.build(BUNDLED, out, scenario="bull")
    return out


def test_a_scenario_build_names_its_scenario_in_every_published_file(bull_build) -> None:
    import pypdfium2

    feed = (bull_build / "site" / "feed.xml").read_text(encoding="utf-8")
    assert "(Bull scenario)</title>" in feed and "<summary>Bull scenario: Current ARR" in feed
    pdf = pypdfium2.PdfDocument(bull_build / "memo.pdf")
    pages = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    assert "bull scenario" in pages[0].lower()
    text = re.sub(r"\s+", " ", " ".join(pages))
    assert "This memo is built for the bull scenario" in text
    # the source's ARPPU range with this build's value beside it; a figure's digits are text a viewer can read
    assert "so the source puts the weighted average revenue per paying user at $18–$19 (this build assumes $19)" in text
    assert "Venice sold one plan, Pro, at $18 a month" in text
    data = __import__("json").loads((bull_build / "figures.json").read_text())
    assert data["memo"]["scenario"] == "bull"
    assert data["inputs"]["subs.arppu_monthly"]["value"] == 19
    assert data["inputs"]["subs.arppu_monthly"]["sourced"] == {"value": 18.5, "low": 18.0, "high": 19.0}
    assert all("this_build" in check for check in data["source_checks"])
    assert sum(not check["holds"] for check in data["source_checks"]) == 7


def test_the_social_card_names_the_scenario() -> None:
    from memo import site

    inputs = build.read_inputs(BUNDLED)
    figures, _ = build.compute(inputs.assumptions)
    base = site.social_card(inputs.assumptions.memo, figures)
    bull = site.social_card(inputs.assumptions.memo, figures, scenario="bull")
    assert base != bull and site.scenario_label("bull") == "Bull scenario" and site.scenario_label(None) == ""
