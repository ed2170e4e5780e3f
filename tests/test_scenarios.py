"""Scenarios, sensitivity grids, the tornado, the Monte Carlo and the claims the prose relies on."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tinyhtml5

from memo import expr, scenarios
from memo import figures as figures_json
from memo import format as fmt
from memo.errors import InputError, MemoError
from tests.bundled import MODEL, PROJECT, analyse, build, compute, compute_model, quantities, read_inputs, with_scenario
from tests.conftest import BUNDLED, line_col, memo

NS = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def assumptions():
    return read_inputs(BUNDLED).assumptions


@pytest.fixture(scope="module")
def analysis(assumptions):
    figures, _ = compute(assumptions)
    return analyse(assumptions, figures)


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "assumptions.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_inputs(path, display_name="assumptions.yaml")
    return [str(d) for d in caught.value.diagnostics]


# ---------------------------------------------------------------- scenarios


def test_each_scenario_is_the_model_with_its_inputs_replaced(assumptions, analysis) -> None:
    q = quantities(assumptions)
    for name, scenario in assumptions.scenarios.items():
        expected = compute_model(scenarios.apply(q, scenario.overrides))
        for figure in ("arr.forward", "revenue.next_12m", "valuation.ps_forward", "valuation.fdv_ps_forward"):
            assert analysis.extra_figures[f"scenario.{name}.{figure}"].value == expected[figure].value
    bear, base, bull = (analysis.extra_figures[f"scenario.{s}.arr.forward"].value for s in ("bear", "base", "bull"))
    assert bear < base < bull
    assert base == compute(assumptions)[0]["arr.forward"].value


def test_scenario_figures_keep_provenance(analysis) -> None:
    figure = analysis.extra_figures["scenario.bull.growth.base_new_arr"]
    assert figure.inputs == ("scenario.bull.growth.base_new_sub_arr", "scenario.bull.growth.base_new_api_arr")
    passthrough = analysis.extra_figures["scenario.bull.growth.base_new_sub_arr"]
    assert passthrough.inputs == ("scenario.bull.growth.base_new_sub_arr",)  # the scenario's replaced input
    assert "scenario.bull.growth.base_new_sub_arr" in analysis.extra_inputs
    untouched = analysis.extra_figures["scenario.bull.users.paid"]
    assert untouched.inputs == ("scenario.bull.users.registered", "scenario.bull.users.conversion_rate")


def test_scenario_overrides_are_validated_like_the_file(tmp_path: Path, bundled_text: str) -> None:
    text = bundled_text.replace("      api.ratio_recent: 0.5\n", "      api.ratio_recnt: 0.5\n")
    text = text.replace("      subs.arppu_monthly: 19\n", "      subs.arppu_monthly: -19\n")
    text = text.replace("      api.ratio_historical: 0.7\n", "      users.conversion_rate: 1.5\n")
    typo = line_col(text, "api.ratio_recnt")
    share = line_col(text, "1.5\n")
    negative = line_col(text, "subs.arppu_monthly: -19", offset=len("subs.arppu_monthly: "))
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{typo[0]}:{typo[1]}: error: scenarios.bear.set.api.ratio_recnt: "
        "unknown input 'api.ratio_recnt' (did you mean 'api.ratio_recent'?)",
        f"assumptions.yaml:{share[0]}:{share[1]}: error: scenarios.bear.set.users.conversion_rate: "
        "must be between 0 and 1, got 1.5",
        f"assumptions.yaml:{negative[0]}:{negative[1]}: error: scenarios.bull.set.subs.arppu_monthly: "
        "must be greater than 0, got -19",
    ]


def test_build_for_a_scenario(tmp_path: Path) -> None:
    build(BUNDLED, tmp_path, scenario="bull")
    data = json.loads((tmp_path / "figures.json").read_text())
    assert data["memo"]["scenario"] == "bull"
    assert data["figures"]["arr.forward"]["value"] == data["figures"]["scenario.bull.arr.forward"]["value"]
    assert data["inputs"]["growth.base_new_sub_arr"]["value"] == 134e6
    assert "Bull scenario" in (tmp_path / "memo.html").read_text()
    with pytest.raises(MemoError, match=r"unknown scenario 'bul' \(scenarios: bear, base, bull\)"):
        with_scenario(read_inputs(BUNDLED).assumptions, "bul")


# ---------------------------------------------------------------- sensitivity and tornado


def test_every_grid_cell_equals_the_model(assumptions, analysis) -> None:
    q = quantities(assumptions)
    for result in analysis.grids.values():
        rows, columns = result.grid.rows, result.grid.columns
        for i, r in enumerate(result.rows):
            for j, c in enumerate(result.columns):
                overrides = {rows.input: r, columns.input: c}
                for axis, value in ((rows, r), (columns, c)):
                    for scaled in axis.scales:
                        overrides[scaled] = q[scaled].base * value / q[axis.input].base
                expected = compute_model(scenarios.apply(q, overrides))
                for figure in result.grid.figures:
                    assert result.values[figure][i, j] == pytest.approx(expected[figure].value, rel=1e-12)
    base = analysis.grids["growth_price"]
    assert base.values["valuation.ps_forward"][base.base_row, base.base_column] == pytest.approx(
        compute(assumptions)[0]["valuation.ps_forward"].value
    )


def _analysed(path: Path, overrides: tuple[str, ...] = ()):
    assumptions = read_inputs(path, overrides).assumptions
    figures, _ = compute(assumptions)
    return assumptions, figures, analyse(assumptions, figures)


def _heatmap(assumptions, figures, analysis, grid: str) -> tuple[dict, str]:
    from memo import charts

    return charts.heatmap(
        charts.ChartData(figures, assumptions.inputs, {}, analysis, PROJECT), grid, "valuation.ps_forward"
    )


def _outlined(chart: dict) -> list[tuple[str, str]]:
    outlines = [layer for layer in chart["layer"] if layer["mark"].get("fill", "") is None]
    return [(cell["row"], cell["column"]) for layer in outlines for cell in layer["data"]["values"]]


def test_the_bundled_relative_grids_give_the_same_cells_as_before(analysis) -> None:
    growth, conversion = analysis.grids["growth_price"], analysis.grids["conversion_arppu"]
    assert growth.rows == (50e6, 75e6, 100e6, 134e6, 170e6)  # exactly: computed values are rounded
    assert growth.columns == (7, 10.5, 14, 21, 28)
    assert conversion.rows == (0.03, 0.04, 0.05, 0.06, 0.07)
    assert conversion.columns == (16, 18, 18.5, 19, 22)
    for g in (growth, conversion):
        assert (g.base_row, g.base_column) == (2, 2)
        assert g.row_place == g.column_place == scenarios.BasePlace("on_grid", 2)
        assert g.dropped_rows == g.dropped_columns == ()


def test_a_grid_with_multipliers_follows_the_base() -> None:
    assumptions, figures, analysis = _analysed(BUNDLED, ("token.price=50",))
    g = analysis.grids["growth_price"]
    assert g.columns == (25, 37.5, 50, 75, 100)
    assert (g.base_row, g.base_column, g.column_base) == (2, 2, 50)
    assert g.values["valuation.ps_forward"][2, 2] == pytest.approx(figures["valuation.ps_forward"].value, rel=1e-12)
    chart, alt = _heatmap(assumptions, figures, analysis, "growth_price")
    assert _outlined(chart) == [("$100M", "$50")]
    assert f"the base case, outlined, is {fmt.by_unit(figures['valuation.ps_forward'].value, 'multiple')}." in alt
    entry = figures_json.analysis_entries(assumptions, analysis)["sensitivity"]["growth_price"]
    assert entry["base"] == {"row": 2, "column": 2, "row_value": 100e6, "column_value": 50.0}
    assert entry["columns"]["multipliers"] == [0.5, 0.75, 1, 1.5, 2]
    assert entry["columns"]["values"] == [25, 37.5, 50, 75, 100]
    assert "dropped" not in entry


def test_a_grid_of_absolute_values_with_the_base_off_it_outlines_nothing(tmp_path: Path, bundled_text: str) -> None:
    text = bundled_text.replace(
        "columns: {input: token.price, multipliers: [0.5, 0.75, 1, 1.5, 2],",
        "columns: {input: token.price, values: [7, 10.5, 14, 21, 28],",
    )
    (tmp_path / "assumptions.yaml").write_text(text)
    assumptions, figures, analysis = _analysed(tmp_path / "assumptions.yaml", ("token.price=50",))
    g = analysis.grids["growth_price"]
    assert g.columns == (7, 10.5, 14, 21, 28)
    assert (g.base_row, g.base_column, g.column_base) == (2, None, 50)
    assert g.column_place == scenarios.BasePlace("above")
    chart, alt = _heatmap(assumptions, figures, analysis, "growth_price")
    assert _outlined(chart) == []
    shown = fmt.by_unit(figures["valuation.ps_forward"].value, "multiple")
    assert alt.endswith(
        f"the base case ({shown}) is not on this grid: its VVV token price, $50, is above the highest value shown ($28)."
    )
    entry = figures_json.analysis_entries(assumptions, analysis)["sensitivity"]["growth_price"]
    assert entry["base"] == {"row": 2, "column": None, "row_value": 100e6, "column_value": 50.0}
    assert "multipliers" not in entry["columns"]

    _, _, between = _analysed(tmp_path / "assumptions.yaml", ("token.price=12",))
    g = between.grids["growth_price"]
    assert g.base_column is None and g.column_place == scenarios.BasePlace("between", 1, (10.5, 14))


def test_where_the_base_lies_on_an_axis() -> None:
    values = (7.0, 10.5, 14.0)
    assert scenarios.base_place(values, 14 * (1 + 1e-12)) == scenarios.BasePlace("on_grid", 2)
    assert scenarios.base_place(values, 7) == scenarios.BasePlace("on_grid", 0)
    assert scenarios.base_place(values, 8) == scenarios.BasePlace("between", 0, (7.0, 10.5))
    assert scenarios.base_place(values, 3) == scenarios.BasePlace("below")
    assert scenarios.base_place(values, 50) == scenarios.BasePlace("above")


def test_offsets_that_give_a_value_the_input_cannot_take_drop_it() -> None:
    assumptions, figures, analysis = _analysed(BUNDLED, ("users.conversion_rate=0.01",))
    g = analysis.grids["conversion_arppu"]
    # 0.01 - 0.02 is below 0, which no share can be; 0.01 - 0.01 is 0, which conversion (it divides) cannot be
    assert g.rows == (0.01, 0.02, 0.03)
    assert g.dropped_rows == (-0.01, 0) and g.dropped_columns == ()
    assert (g.base_row, g.base_column) == (0, 2)
    assert g.values["valuation.ps_forward"].shape == (3, 5)
    entry = figures_json.analysis_entries(assumptions, analysis)["sensitivity"]["conversion_arppu"]
    assert entry["dropped"] == {"rows": [-0.01, 0], "columns": []}
    assert entry["rows"]["values"] == [0.01, 0.02, 0.03]
    assert _outlined(_heatmap(assumptions, figures, analysis, "conversion_arppu")[0]) == [("1%", "$18.50")]

    _, _, high = _analysed(BUNDLED, ("users.conversion_rate=0.99",))
    assert high.grids["conversion_arppu"].rows == (0.97, 0.98, 0.99, 1)
    assert high.grids["conversion_arppu"].dropped_rows == (1.01,)


def test_a_scenario_moves_a_relative_grid() -> None:
    build_assumptions = with_scenario(read_inputs(BUNDLED).assumptions, "bear")
    figures, _ = compute(build_assumptions)
    g = analyse(build_assumptions, figures).grids["growth_price"]
    assert g.rows == (25e6, 37.5e6, 50e6, 67e6, 85e6) and g.base_row == 2


ROWS = "rows: {input: growth.base_new_sub_arr, multipliers: [0.5, 0.75, 1, 1.34, 1.7]}"


@pytest.mark.parametrize(
    ("rows", "needle", "message"),
    [
        (
            "rows: {input: growth.base_new_sub_arr, values: [50e6, 100e6], offsets: [0, 1e6]}",
            "offsets",
            "sensitivity.growth_price.rows.offsets: give exactly one of values, multipliers or offsets, "
            "not values and offsets",
        ),
        (
            "rows: {input: growth.base_new_sub_arr, multipliers: [1]}",
            "[1]",
            "sensitivity.growth_price.rows.multipliers: must be a list of at least two multipliers, got a list of 1",
        ),
        (
            "rows: {input: growth.base_new_sub_arr, multipliers: [1, 0.5]}",
            "[1, 0.5]",
            "sensitivity.growth_price.rows.multipliers: must be distinct and in increasing order",
        ),
        (
            "rows: {input: growth.base_new_sub_arr, offsets: [0, 0]}",
            "[0, 0]",
            "sensitivity.growth_price.rows.offsets: must be distinct and in increasing order",
        ),
        (
            "rows: {input: growth.base_new_sub_arr, multipliers: [0, 1]}",
            "0, 1]",
            "sensitivity.growth_price.rows.multipliers[0]: must be greater than 0, got 0",
        ),
        (
            "rows: {input: growth.base_new_sub_arr, offsets: [0, ten]}",
            "ten",
            "sensitivity.growth_price.rows.offsets[1]: must be a number, got text 'ten'",
        ),
        (
            "rows: {input: users.registered_date, multipliers: [1, 2]}",
            "[1, 2]",
            "sensitivity.growth_price.rows.multipliers: users.registered_date is a date, which cannot be multiplied; "
            "use offsets (in days)",
        ),
        (
            "rows: {input: growth.base_new_sub_arr, offsets: [-60e6, -55e6]}",
            "[-60e6",
            "sensitivity.growth_price.rows.offsets: leave no value growth.base_new_sub_arr can take at its base "
            "of $50M in the bear scenario (computed: \u2212$10M, \u2212$5.0M)",
        ),
    ],
)
def test_relative_axes_are_validated(tmp_path: Path, bundled_text: str, rows: str, needle: str, message: str) -> None:
    text = bundled_text.replace(ROWS, rows)
    line, col = line_col(text, rows, offset=rows.index(needle))
    assert _errors(tmp_path, text) == [f"assumptions.yaml:{line}:{col}: error: {message}"]


def test_a_misspelt_axis_key_is_named(tmp_path: Path, bundled_text: str) -> None:
    rows = "rows: {input: growth.base_new_sub_arr, multiplers: [0.5, 1]}"
    text = bundled_text.replace(ROWS, rows)
    line, col = line_col(text, rows)
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: sensitivity.growth_price.rows: "
        "missing required key 'values' (or 'multipliers' or 'offsets')",
        f"assumptions.yaml:{line}:{col + rows.index('multiplers')}: error: sensitivity.growth_price.rows.multiplers: "
        "unknown key 'multiplers' (did you mean 'multipliers'?)",
    ]


def test_a_relative_axis_must_leave_a_value_at_the_base(tmp_path: Path, bundled_text: str) -> None:
    old = "rows: {input: users.conversion_rate, offsets: [-0.02, -0.01, 0, 0.01, 0.02]}"
    for new, overrides, message in (
        (
            "rows: {input: users.conversion_rate, offsets: [0.96, 0.97]}",
            (),
            "offsets: leave no value users.conversion_rate can take at its base of 5% (computed: 101%, 102%)",
        ),
    ):
        text = bundled_text.replace(old, new)
        (tmp_path / "assumptions.yaml").write_text(text)
        with pytest.raises(InputError) as caught:
            read_inputs(tmp_path / "assumptions.yaml", overrides, display_name="assumptions.yaml")
        line, col = line_col(text, new, offset=new.index("["))
        assert [str(d) for d in caught.value.diagnostics] == [
            f"assumptions.yaml:{line}:{col}: error: sensitivity.conversion_arppu.rows.{message}"
        ]


def test_multiples_of_a_base_of_zero_are_a_one_line_grid(tmp_path: Path, bundled_text: str) -> None:
    text = bundled_text.replace(
        "rows: {input: users.conversion_rate, offsets: [-0.02, -0.01, 0, 0.01, 0.02]}",
        "rows: {input: api.ratio_recent, multipliers: [0.5, 1, 2]}",
    )
    (tmp_path / "assumptions.yaml").write_text(text)
    assumptions = read_inputs(tmp_path / "assumptions.yaml", ("api.ratio_recent=0",)).assumptions
    grid = scenarios.sweep(quantities(assumptions), assumptions.sensitivity[1], MODEL.figures)
    assert grid.rows == (0.0,) and grid.dropped_rows == (0.0, 0.0) and grid.base_row == 0


def test_tornado_swings_are_the_model_at_each_end(assumptions, analysis) -> None:
    q = quantities(assumptions)
    swings = analysis.tornado["valuation.ps_forward"]
    assert swings[0].input == "growth.base_new_sub_arr"
    assert [s.width for s in swings] == sorted((s.width for s in swings), reverse=True)
    for swing in swings:
        for end, value in ((swing.low, swing.at_low), (swing.high, swing.at_high)):
            expected = compute_model(scenarios.apply(q, {swing.input: end}))["valuation.ps_forward"].value
            assert value == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- Monte Carlo


def test_monte_carlo_is_stable_under_its_seed(assumptions) -> None:
    q = quantities(assumptions)
    runs = [scenarios.monte_carlo(q, {}, ["valuation.ps_forward"], 50_000, 7, MODEL.figures) for _ in range(2)]
    assert runs[0].percentiles == runs[1].percentiles
    other = scenarios.monte_carlo(q, {}, ["valuation.ps_forward"], 50_000, 8, MODEL.figures)
    assert other.percentiles != runs[0].percentiles


def test_monte_carlo_converges_to_the_analytic_percentiles(assumptions) -> None:
    """growth.base_new_sub_arr is triangular with its mode at the low end, so its P-th percentile is
    high - (high - low) * sqrt(1 - P)."""
    q = quantities(assumptions)
    low, high = q["growth.base_new_sub_arr"].low, q["growth.base_new_sub_arr"].high
    result = scenarios.monte_carlo(q, {}, ["growth.base_new_sub_arr"], 400_000, 1, MODEL.figures)
    for p in (10, 50, 90):
        analytic = high - (high - low) * math.sqrt(1 - p / 100)
        assert result.percentiles["growth.base_new_sub_arr"][p] == pytest.approx(analytic, rel=2e-3)


def test_uniform_distribution_is_honoured(assumptions) -> None:
    q = quantities(assumptions)
    result = scenarios.monte_carlo(
        q, {"market.privacy_share": "uniform"}, ["market.privacy_share"], 200_000, 3, MODEL.figures
    )
    assert result.percentiles["market.privacy_share"][50] == pytest.approx(0.10, rel=5e-3)
    assert result.percentiles["market.privacy_share"][10] == pytest.approx(0.06, rel=5e-3)


def test_percentiles_are_published_as_figures(tmp_path: Path, analysis) -> None:
    p = {k: analysis.extra_figures[f"uncertainty.valuation.ps_forward.p{k}"].value for k in (10, 50, 90)}
    assert p[10] < p[50] < p[90]
    samples = analysis.simulation.samples["valuation.ps_forward"]
    assert p[50] == float(np.percentile(samples, 50))


# ---------------------------------------------------------------- claims


def test_a_claim_broken_by_an_override_fails_the_build(tmp_path: Path, bundled_text: str) -> None:
    (tmp_path / "assumptions.yaml").write_text(bundled_text)
    # the FDV rises with the market cap, which may not exceed it (constraints.cap_within_fdv)
    result = memo("build", "--set", "valuation.market_cap=9e9", "--set", "valuation.fdv=9e9", cwd=tmp_path)
    assert result.returncode == 1
    line, col = line_col(bundled_text, "valuation.ps_current < peers.openrouter_ps")
    assert (
        f"assumptions.yaml:{line}:{col}: error: claims.ps_current_below_openrouter: no longer holds: "
        "VVV trades below OpenRouter's multiple on current ARR: valuation.ps_current < peers.openrouter_ps "
        "with valuation.ps_current = 154.4x, peers.openrouter_ps = 26.0x"
    ) in result.stderr.splitlines()
    assert not (tmp_path / "build").exists()


def test_failing_claims_can_be_allowed_and_are_marked(tmp_path: Path, bundled_text: str) -> None:
    (tmp_path / "assumptions.yaml").write_text(bundled_text)
    overrides = ("--set", "valuation.market_cap=9e9", "--set", "valuation.fdv=9e9")
    result = memo("build", *overrides, "--allow-failing-claims", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: claims.ps_current_below_openrouter: no longer holds" in result.stderr
    tree = tinyhtml5.parse((tmp_path / "build" / "memo.html").read_text())
    failing = [e.get("data-claim") for e in tree.iter(f"{NS}span") if "failing" in (e.get("class") or "")]
    assert set(failing) == {
        "ps_current_below_openrouter",
        "forward_multiple_a_fraction",
        "forward_multiple_undemanding",
    }
    data = json.loads((tmp_path / "build" / "figures.json").read_text())
    assert {c["id"] for c in data["claims"] if not c["result"]} == set(failing)


def test_memo_check(tmp_path: Path, bundled_text: str) -> None:
    (tmp_path / "assumptions.yaml").write_text(bundled_text)
    ok = memo("check", cwd=tmp_path)
    assert ok.returncode == 0 and "9 claims hold" in ok.stdout
    assert not (tmp_path / "build").exists()
    broken = memo("check", "--set", "growth.new_sub_arr_week3=1.5e6", cwd=tmp_path)
    assert broken.returncode == 1
    assert "claims.new_arr_accelerated: no longer holds" in broken.stderr


@pytest.mark.parametrize(
    ("holds", "message"),
    [
        (
            "__import__('os').system('x') == 0",
            "not a valid claim: only the functions abs, max, min may be called (column 1)",
        ),
        (
            "valuation.ps_current.__class__ == 1",
            "unknown figure 'valuation.ps_current.__class__' (did you mean 'valuation.ps_current'?)",
        ),
        ("open('/etc/passwd') == 1", "not a valid claim: only the functions abs, max, min may be called (column 1)"),
        ("valuation.ps_current < 'x'", "not a valid claim: the constant 'x' is not allowed (column 24)"),
        ("[1][0] < 2", "not a valid claim: indexing is not allowed (column 1)"),
        ("valuation.ps_curent < 26", "unknown figure 'valuation.ps_curent' (did you mean 'valuation.ps_current'?)"),
        ("valuation.ps_current + 1", "a claim must compare figures (use < <= > >= == !=)"),
        ("lambda: 1 < 2", "not a valid claim: lambda is not allowed (column 1)"),
    ],
)
def test_the_claim_language_refuses_anything_but_figures_numbers_and_operators(
    tmp_path: Path, bundled_text: str, holds: str, message: str
) -> None:
    original = "    holds: valuation.ps_current < peers.openrouter_ps\n"
    text = bundled_text.replace(original, f'    holds: "{holds}"\n')
    line, col = line_col(text, f'"{holds}"')
    assert _errors(tmp_path, text) == [f"assumptions.yaml:{line}:{col}: error: claims[0].holds: {message}"]


def test_claims_are_evaluated_without_eval() -> None:
    parsed = expr.parse("a.b < 2 and not c.d >= 3")
    assert parsed.is_condition and parsed.names == ("a.b", "c.d")
    assert bool(parsed.evaluate({"a.b": 1.0, "c.d": 1.0})) is True
