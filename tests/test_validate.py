"""Loading and validation: each error class, with its exact message and position."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memo import load
from memo.errors import InputError
from tests.bundled import read_inputs
from tests.conftest import line_col


def _errors(tmp_path: Path, text: str, overrides: tuple[str, ...] = ()) -> list[str]:
    path = tmp_path / "assumptions.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_inputs(path, overrides, display_name="assumptions.yaml")
    return [str(d) for d in caught.value.diagnostics]


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_bundled_file_is_valid() -> None:
    inputs = read_inputs(Path(__file__).resolve().parents[1] / "assumptions.yaml")
    assert inputs.assumptions.memo.title.startswith("Venice")
    assert inputs.assumptions.inputs["market.privacy_share"].high == 0.15


def test_share_above_one(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "    high: 0.15\n", "    high: 1.5\n")
    line, col = line_col(text, "1.5\n    unit: share")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: market.privacy_share.high: must be between 0 and 1, got 1.5"
    ]


def test_negative_price(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "    value: 14\n", "    value: -14\n")
    line, col = line_col(text, "-14")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: token.price.value: must be greater than 0, got -14"
    ]


def test_negative_amount(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "    value: 660e6\n", "    value: -660e6\n")
    line, col = line_col(text, "-660e6")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: valuation.market_cap.value: must be 0 or more, got -6.6e+08"
    ]


def test_empty_range(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "    low: 140e9\n    base: 150e9\n", "    low: 170e9\n    base: 165e9\n")
    line, col = line_col(text, "170e9")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: market.inference_2027.low: empty range: low 1.7e+11 is above high 1.6e+11"
    ]


def test_base_outside_range(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "    base: 18.5\n", "    base: 25\n")
    line, col = line_col(text, "25\n    high: 19")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: subs.arppu_monthly.base: must be between low 18 and high 19, got 25"
    ]


@pytest.mark.parametrize(("literal", "shown"), [(".nan", "nan"), (".inf", "inf"), ("-.inf", "-inf")])
def test_not_finite(tmp_path: Path, bundled_text: str, literal: str, shown: str) -> None:
    text = _edit(bundled_text, "    value: 1.12e9\n", f"    value: {literal}\n")
    line, col = line_col(text, f"{literal}\n")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: valuation.fdv.value: must be a finite number, got {shown}"
    ]


def test_wrong_type(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "    value: 0.05\n", '    value: "five percent"\n')
    line, col = line_col(text, '"five percent"')
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: users.conversion_rate.value: must be a number, got text 'five percent'"
    ]


def test_wrong_unit(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "    value: 0.05\n    unit: share\n", "    value: 0.05\n    unit: percent\n")
    line, col = line_col(text, "percent")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: users.conversion_rate.unit: "
        "must be 'share' (a fraction of a whole, 0 to 1 (0.05 is 5 %)), got text 'percent'"
    ]


def test_unknown_key_with_suggestion(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "  conversion_rate:\n", "  conversion_rte:\n")
    users_line, _ = line_col(text, "users:\n")
    line, col = line_col(text, "conversion_rte")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{users_line}:1: error: users: missing input 'conversion_rate' "
        "(Lifetime paid conversion of registered users)",
        f"assumptions.yaml:{line}:{col}: error: users.conversion_rte: unknown key 'conversion_rte' "
        "(did you mean 'conversion_rate'?)",
    ]


def test_unknown_entry_key(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "    value: 26\n", "    value: 26\n    sauce: 1\n")
    line, col = line_col(text, "sauce")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: peers.openrouter_ps.sauce: unknown key 'sauce' (did you mean 'source'?)"
    ]


def test_duplicate_key(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "    value: 68\n", "    value: 68\n    value: 70\n")
    first, _ = line_col(text, "value: 68")
    line, col = line_col(text, "value: 70")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: subs.price_pro_plus.value: duplicate key (first defined on line {first})"
    ]


def test_estimate_needs_a_note(tmp_path: Path, bundled_text: str) -> None:
    start = bundled_text.index("  new_sub_arr_week2:")
    end = bundled_text.index("  new_sub_arr_week3:")
    text = (
        bundled_text[:start]
        + "  new_sub_arr_week2:\n    value: 2.3e6\n    unit: usd_per_week\n    estimate: true\n"
        + bundled_text[end:]
    )
    line, col = line_col(text, "new_sub_arr_week2")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: growth.new_sub_arr_week2: an estimate needs a note saying how it was chosen"
    ]


def test_sourced_value_needs_a_source(tmp_path: Path, bundled_text: str) -> None:
    old = (
        '    unit: multiple\n    source: {ref: vvv-analysis, where: "Opening valuation paragraph", date: 2026-05-16}\n'
    )
    text = _edit(bundled_text, old, "    unit: multiple\n")
    line, col = line_col(text, "openrouter_ps:")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: peers.openrouter_ps: "
        "missing required key 'source' (or mark it estimate: true with a note)"
    ]


def test_unknown_source_reference(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(
        bundled_text,
        'source: {ref: vvv-analysis, where: "Key elements, market size", date: 2026-05-16}\n    note: "Projected',
        'source: {ref: blog, where: "Key elements, market size", date: 2026-05-16}\n    note: "Projected',
    )
    line, col = line_col(text, "blog")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: market.inference_2027.source.ref: unknown source 'blog' (sources: vvv-analysis)"
    ]


def test_unknown_stated_figure(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "{figure: users.paid, value", "{figure: users.payd, value")
    line, col = line_col(text, "users.payd")
    assert _errors(tmp_path, text) == [
        f"assumptions.yaml:{line}:{col}: error: stated[1].figure: unknown figure 'users.payd' (did you mean 'users.paid'?)"
    ]


def test_many_errors_are_reported_together_in_file_order(tmp_path: Path, bundled_text: str) -> None:
    text = _edit(bundled_text, "    value: 14\n", "    value: -14\n")
    text = _edit(text, "    high: 0.15\n", "    high: 1.5\n")
    text = _edit(text, '  author: "memo research"\n', "  author: 42\n")
    errors = _errors(tmp_path, text)
    assert [e.split(": error: ")[1].split(":")[0] for e in errors] == [
        "memo.author",
        "token.price.value",
        "market.privacy_share.high",
    ]
    lines = [int(e.split(":")[1]) for e in errors]
    assert lines == sorted(lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x [1]\nb: *x\n", "assumptions.yaml:2:4: error: YAML aliases (*name) are not allowed"),
        (
            "a: !!python/object:os.system {}\n",
            "assumptions.yaml:1:4: error: a: YAML tag tag:yaml.org,2002:python/object:os.system is not allowed",
        ),
        (
            "a: [1, 2\n",
            "assumptions.yaml:2:1: error: YAML syntax: while parsing a flow sequence expected ',' or ']', but got '<stream end>'",
        ),
        ("", "assumptions.yaml:1:1: error: file is empty"),
        (
            "a: 1\n---\nb: 2\n",
            "assumptions.yaml:2:1: error: YAML syntax: expected a single document in the stream but found another document",
        ),
        ("? [1]\n: 2\n", "assumptions.yaml:1:3: error: keys must be text, got a collection"),
        ("- 1\n", "assumptions.yaml:1:1: error: must be a mapping of keys to values, got a list"),
    ],
)
def test_structural_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _errors(tmp_path, text)


def test_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    errors = _errors(tmp_path, "\n".join(lines) + "\n")
    assert errors == ["assumptions.yaml:2:10: error: YAML aliases (*name) are not allowed"]


def test_oversized_file(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "# " + "x" * load.MAX_BYTES + "\n")
    assert errors == [f"assumptions.yaml:1:1: error: file is {load.MAX_BYTES + 3} bytes; the limit is {load.MAX_BYTES}"]


def test_deep_nesting(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "a: " + "[" * 100 + "]" * 100 + "\n")
    assert errors == [
        f"assumptions.yaml:1:{4 + load.MAX_DEPTH - 1}: error: document is nested more than {load.MAX_DEPTH} levels deep"
    ]


def test_too_many_values(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "a: [" + ", ".join(["1"] * (load.MAX_NODES + 5)) + "]\n")
    assert errors[0].endswith(f"error: document has more than {load.MAX_NODES} values")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape("nope.yaml:1:1: error: no such file")):
        read_inputs(tmp_path / "nope.yaml", display_name="nope.yaml")


@pytest.mark.parametrize("name", ["assumptions.yaml", "model.yaml", "memo.yml", "templates/content/ladder.yaml"])
def test_libyaml_events_give_what_pyyaml_gives(name: str) -> None:
    """Files are read over libyaml's parser (load._FastLoader); values, positions and problems are PyYAML's."""
    assert load._FastLoader is not None  # PyYAML with libyaml, as the pinned wheels are
    text = (Path(__file__).resolve().parents[1] / name).read_text(encoding="utf-8")
    fast = load.load_text(text, name)
    pure = load._Loader(text)
    slow = load._document(pure.get_single_node(), name, pure)
    assert (fast.data, fast.value_positions, fast.problems) == (slow.data, slow.value_positions, slow.problems)
    assert len(fast.value_positions) > 50


def test_a_file_libyaml_refuses_is_reported_in_pyyaml_words(tmp_path: Path) -> None:
    assert _errors(tmp_path, "a:\n\t- 1\n") == [
        "assumptions.yaml:2:1: error: YAML syntax: while scanning for the next token found character '\\t' that cannot "
        "start any token"
    ]


def test_yaml_12_exponent_numbers_are_numbers() -> None:
    assert load.load_text("a: 3e9\nb: 1.5E-3\nc: 2_000\n", "x").data == {"a": 3e9, "b": 1.5e-3, "c": 2000}


class TestOverrides:
    def test_override_is_applied(self, tmp_path: Path, bundled_text: str) -> None:
        path = tmp_path / "a.yaml"
        path.write_text(bundled_text)
        inputs = read_inputs(path, ["users.conversion_rate=0.06", "market.privacy_share.high=0.2"])
        assert inputs.assumptions.inputs["users.conversion_rate"].base == 0.06
        assert inputs.assumptions.inputs["market.privacy_share"].high == 0.2

    def test_override_of_a_ranged_input_sets_its_base(self, tmp_path: Path, bundled_text: str) -> None:
        path = tmp_path / "a.yaml"
        path.write_text(bundled_text)
        inputs = read_inputs(path, ["subs.arppu_monthly=18.9"])
        item = inputs.assumptions.inputs["subs.arppu_monthly"]
        assert (item.low, item.base, item.high) == (18, 18.9, 19)

    def test_override_is_validated_like_the_file(self, tmp_path: Path, bundled_text: str) -> None:
        assert _errors(tmp_path, bundled_text, ("users.conversion_rate=1.5", "subs.arppu_monthly=25")) == [
            "--set:1:23: error: users.conversion_rate.value: must be between 0 and 1, got 1.5",
            "--set:2:20: error: subs.arppu_monthly.base: must be between low 18 and high 19, got 25",
        ]

    def test_override_of_an_unknown_key(self, tmp_path: Path, bundled_text: str) -> None:
        assert _errors(tmp_path, bundled_text, ("users.conversion=0.1", "nope.x=1")) == [
            "--set:1:1: error: users.conversion: no key 'conversion' in users (did you mean 'conversion_rate'?)",
            "--set:2:1: error: nope.x: no key 'nope' in the file",
        ]

    def test_override_value_must_be_a_scalar(self, tmp_path: Path, bundled_text: str) -> None:
        assert _errors(tmp_path, bundled_text, ("token.price=[1, 2]",)) == [
            "--set:1:13: error: token.price: --set takes a single value"
        ]


class TestConstraints:
    """Relations between inputs (``constraints:``), checked on the inputs, each scenario and each range end."""

    CAP = "valuation.market_cap <= valuation.fdv"
    CAP_TEXT = "The market cap counts circulating tokens only, so it cannot exceed the fully diluted valuation"
    ARPPU = "subs.price_pro <= subs.arppu_monthly <= subs.price_max"
    ARPPU_TEXT = "A weighted average of the tier prices lies between the cheapest and the dearest"

    def test_the_bundled_constraints_hold_for_the_file_and_its_scenarios(self) -> None:
        from memo.validate import constraint_problems

        assumptions = read_inputs(Path(__file__).resolve().parents[1] / "assumptions.yaml").assumptions
        assert [c.id for c in assumptions.constraints] == [
            "cap_within_fdv",
            "milestones_in_order",
            "registrations_accumulate",
            "paid_within_registered",
            "pro_within_pro_plus",
            "pro_plus_within_max",
            "arppu_within_tier_prices",
            "revenue_period_in_order",
        ]
        assert assumptions.scenarios  # checked on each of them too, and all hold
        assert constraint_problems(assumptions.constraints, assumptions.inputs, assumptions.scenarios) == []

    def test_a_market_cap_above_the_fdv_in_the_file(self, tmp_path: Path, bundled_text: str) -> None:
        text = _edit(bundled_text, "    value: 660e6\n", "    value: 1.5e9\n")
        line, col = line_col(text, self.CAP)
        assert _errors(tmp_path, text) == [
            f"assumptions.yaml:{line}:{col}: error: constraints.cap_within_fdv: does not hold: {self.CAP_TEXT}: "
            f"{self.CAP} with valuation.market_cap = $1.5B, valuation.fdv = $1.12B"
        ]

    def test_a_market_cap_above_the_fdv_set_on_the_command_line(self, tmp_path: Path, bundled_text: str) -> None:
        line, col = line_col(bundled_text, self.CAP)
        assert _errors(tmp_path, bundled_text, ("valuation.market_cap=2e9",)) == [
            f"assumptions.yaml:{line}:{col}: error: constraints.cap_within_fdv: does not hold: {self.CAP_TEXT}: "
            f"{self.CAP} with valuation.market_cap = $2.0B, valuation.fdv = $1.12B"
        ]

    def test_memo_check_refuses_it_in_one_line_without_a_traceback(self, tmp_path: Path, bundled_text: str) -> None:
        from tests.conftest import memo

        (tmp_path / "assumptions.yaml").write_text(bundled_text)
        result = memo("check", "--set", "valuation.market_cap=2e9", cwd=tmp_path)
        line, col = line_col(bundled_text, self.CAP)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            f"assumptions.yaml:{line}:{col}: error: constraints.cap_within_fdv: does not hold: {self.CAP_TEXT}: "
            f"{self.CAP} with valuation.market_cap = $2.0B, valuation.fdv = $1.12B"
        ]

    def test_a_scenario_that_breaks_a_constraint_is_named(self, tmp_path: Path, bundled_text: str) -> None:
        text = _edit(bundled_text, "      subs.arppu_monthly: 18\n", "      subs.arppu_monthly: 17\n")
        line, col = line_col(text, self.ARPPU)
        assert _errors(tmp_path, text) == [
            f"assumptions.yaml:{line}:{col}: error: constraints.arppu_within_tier_prices: does not hold: "
            f"{self.ARPPU_TEXT}: {self.ARPPU} with subs.price_pro = $18, subs.arppu_monthly = $17, "
            "subs.price_max = $200 in the bear scenario"
        ]

    def test_a_ranged_input_is_checked_at_its_low_end(self, tmp_path: Path, bundled_text: str) -> None:
        # $18.20 is below the base ARPPU ($18.50) but above its low end ($18), which the bear scenario also sets
        text = _edit(bundled_text, "    value: 18\n", "    value: 18.2\n")
        line, col = line_col(text, self.ARPPU)
        start = f"assumptions.yaml:{line}:{col}: error: constraints.arppu_within_tier_prices: does not hold: "
        assert _errors(tmp_path, text) == [
            f"{start}{self.ARPPU_TEXT}: {self.ARPPU} with subs.price_pro = $18.20, subs.arppu_monthly = $18, "
            "subs.price_max = $200 at the low end of subs.arppu_monthly",
            f"{start}{self.ARPPU_TEXT}: {self.ARPPU} with subs.price_pro = $18.20, subs.arppu_monthly = $18, "
            "subs.price_max = $200 in the bear scenario",
        ]

    def test_dates_compare_as_dates(self, tmp_path: Path, bundled_text: str) -> None:
        line, col = line_col(bundled_text, "users.registered_earlier_date < users.registered_date")
        assert _errors(tmp_path, bundled_text, ("users.registered_earlier_date=2026-06-01",)) == [
            f"assumptions.yaml:{line}:{col}: error: constraints.milestones_in_order: does not hold: "
            "The earlier registration milestone comes before the latest one: "
            "users.registered_earlier_date < users.registered_date "
            "with users.registered_earlier_date = 1 June 2026, users.registered_date = 16 May 2026"
        ]

    def test_bad_constraints_are_reported_together(self, tmp_path: Path, bundled_text: str) -> None:
        bad = (
            "  - id: cap_within_fdv\n"
            '    text: "Twice"\n'
            "    holds: valuation.market_cap >= 0\n"
            "  - id: typo\n"
            '    text: "A typo"\n'
            "    holds: valuation.market_capp <= valuation.fdv\n"
            "  - id: sum\n"
            '    text: "Not a condition"\n'
            "    holds: valuation.market_cap + valuation.fdv\n"
            "  - id: figure\n"
            '    text: "A figure is not an input"\n'
            "    holds: valuation.ps_current < 30\n"
            "  - id: extra\n"
            '    txt: "A key too many"\n'
            '    text: "Holds"\n'
            "    holds: token.price > 0\n"
        )
        text = _edit(bundled_text, "\n# Scenarios:", bad + "\n# Scenarios:")
        twice = line_col(text, 'cap_within_fdv\n    text: "Twice"')
        typo = line_col(text, "valuation.market_capp")
        total = line_col(text, "valuation.market_cap + valuation.fdv")
        figure = line_col(text, "valuation.ps_current < 30")
        extra = line_col(text, "txt:")
        assert _errors(tmp_path, text) == [
            f"assumptions.yaml:{twice[0]}:{twice[1]}: error: constraints[8].id: "
            "constraint id 'cap_within_fdv' is used twice",
            f"assumptions.yaml:{typo[0]}:{typo[1]}: error: constraints[9].holds: "
            "unknown input 'valuation.market_capp' (did you mean 'valuation.market_cap'?)",
            f"assumptions.yaml:{total[0]}:{total[1]}: error: constraints[10].holds: "
            "a constraint must compare inputs (use < <= > >= == !=)",
            f"assumptions.yaml:{figure[0]}:{figure[1]}: error: constraints[11].holds: "
            "valuation.ps_current is a figure, not an input; a constraint relates inputs (a claim compares figures)",
            f"assumptions.yaml:{extra[0]}:{extra[1]}: error: constraints[12].txt: unknown key 'txt' (did you mean 'text'?)",
        ]

    def test_a_constraint_that_is_no_expression(self, tmp_path: Path, bundled_text: str) -> None:
        text = _edit(bundled_text, f"    holds: {self.CAP}\n", '    holds: "valuation.market_cap <="\n')
        line, col = line_col(text, '"valuation.market_cap <="')
        [error] = _errors(tmp_path, text)
        assert error.startswith(f"assumptions.yaml:{line}:{col}: error: constraints[0].holds: not a valid constraint: ")
