"""Hostile and careless values (issue 13, items 2, 3 and 8): every refusal is one positioned line, exit 1, no
traceback, fast and small; legal extremes compute and format.

Most cases run ``memo check`` in a fresh process (it renders nothing); the guards themselves are tested in-process.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from memo import expr, load, model, schema
from memo import format as fmt
from memo.errors import InputError, MemoError
from memo.project import load_project
from memo.validate import url_problem
from tests.conftest import BUNDLED, ROOT, line_col, link_project, run_measured
from tests.forked import memo_forked

P = "--project"


def run(*args: str | bytes, cwd: Path = ROOT) -> tuple[subprocess.CompletedProcess[str], float]:
    """``memo ARGS`` in a fork of a warm process (tests/forked.py): its result and its wall time in seconds."""
    start = time.perf_counter()
    result = memo_forked(args, cwd, {"MEMO_CACHE_DIR": str(cwd / ".memo-test-cache")}, timeout=120)
    return result, time.perf_counter() - start


def run_fresh(*args: str | bytes, cwd: Path = ROOT) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """``memo ARGS`` in a fresh process, as a user runs it: result, wall time and peak memory in bytes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MEMO_CACHE_DIR": str(cwd / ".memo-test-cache")}
    command = [sys.executable.encode(), b"-m", b"memo", *(a if isinstance(a, bytes) else a.encode() for a in args)]
    return run_measured(command, cwd, env)


def refused(result: subprocess.CompletedProcess[str], line: str) -> None:
    """Exit 1, no traceback, and ``line`` is the one error printed."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.returncode == 1, output
    errors = [text for text in result.stderr.splitlines() if text]
    assert errors == [line], output


# ------------------------------------------------------------------ values: --set


@pytest.mark.parametrize(
    ("assignment", "line"),
    [
        ("users.conversion_rate=0", "--set:1:23: error: users.conversion_rate.value: must be greater than 0, got 0"),
        ("valuation.fdv=0", "--set:1:15: error: valuation.fdv.value: must be greater than 0, got 0"),
        ("valuation.fdv=-1", "--set:1:15: error: valuation.fdv.value: must be greater than 0, got -1"),
        ("token.price=.nan", "--set:1:13: error: token.price.value: must be a finite number, got nan"),
        ("users.registered=.inf", "--set:1:18: error: users.registered.value: must be a finite number, got inf"),
        ("memo.title=a\x07b", "--set:1:13: error: U+0007 (BEL) is not allowed in --set; remove it"),
        ("memo.title=\x1b]0;owned\x07", "--set:1:12: error: U+001B (ESC) is not allowed in --set; remove it"),
        ("memo.title=a\x85b", "--set:1:13: error: U+0085 (NEL) is not allowed in --set; remove it"),
        ("memo.title=a\ufffeb", "--set:1:13: error: U+FFFE (a noncharacter) is not allowed in --set; remove it"),
        (
            'memo.title="a\\0b"',
            "--set:1:12: error: memo.title: holds U+0000 (NUL), written as an escape; remove it",
        ),
        (
            'memo.title="\\e[2J"',
            "--set:1:12: error: memo.title: holds U+001B (ESC), written as an escape; remove it",
        ),
        (
            "memo.title=" + "x" * 301,
            "--set:1:12: error: memo.title: is 301 characters long; the limit is 300",
        ),
    ],
    ids=[
        "conversion-0",
        "fdv-0",
        "fdv-negative",
        "nan",
        "inf",
        "bel",
        "esc",
        "c1",
        "ufffe",
        "nul-escape",
        "esc-escape",
        "long-title",
    ],
)
def test_a_bad_set_value_is_one_positioned_line(assignment: str, line: str) -> None:
    result, elapsed = run("check", "--set", assignment)
    refused(result, line)
    assert elapsed < 10


def test_a_set_value_that_is_not_utf8_is_refused() -> None:
    result, _ = run(b"check", b"--set", b"memo.title=a\xffb")
    refused(result, "--set:1:13: error: U+DCFF (a lone surrogate: the text was not valid UTF-8) is not allowed in "
            "--set; remove it")  # fmt: skip


def test_a_figure_that_is_not_finite_names_its_formula_and_inputs() -> None:
    result, _ = run("check", "--set", "token.price=1e-320")
    refused(
        result,
        "error: the model cannot be computed: token.circulating_supply = valuation.market_cap / token.price is not "
        "a finite number (infinite, with valuation.market_cap = 6.6e+08, token.price = 9.99989e-321); check the "
        "inputs it reads for 0 or extreme values",
    )


def test_huge_money_computes_and_formats() -> None:
    result, _ = run("check", "--set", "valuation.fdv=1e200", "--set", "valuation.market_cap=1e200")
    assert "Traceback" not in result.stderr
    assert result.returncode == 1  # three claims stop holding, and say so in numbers
    assert "valuation.ps_current = 1.72e+192x" in result.stderr


# ------------------------------------------------------------------ files in, bounded


def _file_cases(tmp: Path) -> list[tuple[str, str]]:
    fifo = tmp / "fifo.yaml"
    os.mkfifo(fifo)
    (tmp / "big.yaml").write_bytes(b"# " + b"x" * 1_000_000 + b"\n")
    text = BUNDLED.read_text(encoding="utf-8")
    cases = [("/dev/zero", "/dev/zero:1:1: error: is not a regular file (a character device); give the path of a file"),
             (str(fifo), f"{fifo}:1:1: error: is not a regular file (a named pipe); give the path of a file"),
             (str(tmp), f"{tmp}:1:1: error: is a folder, not a file"),
             ("/proc/self/status", "/proc/self/status:1:1: error: is a file of the system (/proc or /sys), not a "
              "project file"),
             (str(tmp / "big.yaml"), f"{tmp / 'big.yaml'}:1:1: error: file is 1000003 bytes; the limit is 1000000")]  # fmt: skip
    needle = "Venice (VVV)"
    line, column = line_col(text, needle)
    for name, char, shown in [
        ("nul", "\x00", "U+0000 (NUL)"),
        ("bel", "\x07", "U+0007 (BEL)"),
        ("esc", "\x1b", "U+001B (ESC)"),
        ("c1", "\x9b", "U+009B (a control character)"),
        ("del", "\x7f", "U+007F (DEL)"),
        ("fffe", "\ufffe", "U+FFFE (a noncharacter)"),
    ]:
        path = tmp / f"{name}.yaml"
        path.write_text(text.replace(needle, char + needle, 1), encoding="utf-8")
        cases.append((str(path), f"{path}:{line}:{column}: error: {shown} is not allowed in the file; remove it"))
    path = tmp / "latin1.yaml"
    path.write_bytes(text.replace(needle, needle + "\u00e9", 1).encode("latin-1", "replace"))
    offset = text.encode("latin-1", "replace").index(needle.encode()) + len(needle)
    cases.append(
        (
            str(path),
            f"{path}:{line}:{column + len(needle)}: error: not UTF-8 text: byte 0xe9 at offset {offset} is "
            "not valid UTF-8",
        )
    )
    return cases


@pytest.mark.parametrize("command", ["check", "build"])
def test_a_hostile_assumptions_file_is_refused_fast_and_small(command: str, tmp_path: Path) -> None:
    for path, line in _file_cases(tmp_path)[: None if command == "check" else 3]:
        out = ("--out", str(tmp_path / "out")) if command == "build" else ()
        result, elapsed, peak = run_fresh(command, "--assumptions", path, *out)
        refused(result, line)
        assert elapsed < 5, f"{path}: {elapsed:.1f} s"  # the process as a whole; the refusal itself is below
        assert peak < 500 * 2**20, f"{path}: {peak / 2**20:.0f} MB"


def test_the_refusal_itself_takes_well_under_a_second(tmp_path: Path) -> None:
    from memo.inputs import read_inputs

    spec = load_project(ROOT).model
    for path, _ in _file_cases(tmp_path):
        start = time.perf_counter()
        with pytest.raises(InputError):
            read_inputs(Path(path), spec)
        assert time.perf_counter() - start < 1, path


def _project(tmp: Path, model_text: str | None = None, memo_yml: str | None = None) -> Path:
    folder = tmp / "project"
    folder.mkdir()
    if model_text is not None:
        (folder / "model.yaml").write_text(model_text, encoding="utf-8")
    if memo_yml is not None:
        (folder / "memo.yml").write_text(memo_yml, encoding="utf-8")
    (folder / "assumptions.yaml").symlink_to(BUNDLED)
    return link_project(folder)


def test_a_project_file_holding_a_control_character_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "memo.yml").read_text(encoding="utf-8")
    hostile = text.replace("kicker: Investment", "kicker: \x1b[2JInvestment", 1)
    folder = _project(tmp_path, memo_yml=hostile)
    line, column = line_col(hostile, "\x1b")
    result, _ = run("check", P, str(folder))
    refused(result, f"{folder / 'memo.yml'}:{line}:{column}: error: U+001B (ESC) is not allowed in the file; remove it")


def test_a_model_file_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "memo.yml").read_text(encoding="utf-8")
    assert "model: model.yaml" in text
    folder = _project(tmp_path, memo_yml=text.replace("model: model.yaml", "model: pipe.yaml"))
    os.mkfifo(folder / "pipe.yaml")
    result, elapsed = run("check", P, str(folder))
    refused(result, f"{folder / 'pipe.yaml'}:1:1: error: is not a regular file (a named pipe); give the path of a file")
    assert elapsed < 5


def test_read_bounded_reads_no_more_than_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 100)
    assert load.read_bounded(path, limit=100) == b"a" * 100
    with pytest.raises(InputError, match="file is 100 bytes; the limit is 99"):
        load.read_bounded(path, limit=99)
    with pytest.raises(InputError, match="no such file"):
        load.read_bounded(tmp_path / "missing")


# ------------------------------------------------------------------ the model file: divisors declared positive


def test_a_divisor_not_declared_positive_is_refused_in_the_model_file(tmp_path: Path) -> None:
    text = (ROOT / "model.yaml").read_text(encoding="utf-8")
    declaration = '  valuation.fdv: {unit: usd, label: "VVV fully diluted valuation", positive: true}'
    assert declaration in text
    folder = _project(tmp_path, model_text=text.replace(declaration, declaration.replace(", positive: true", "")))
    line, column = line_col(text, declaration, 2)
    result, elapsed = run("check", P, str(folder))
    refused(
        result,
        f"{folder / 'model.yaml'}:{line}:{column}: error: inputs.valuation.fdv: valuation.fdv divides in "
        "figures.token.circulating_share (valuation.market_cap / valuation.fdv), and the assumptions may set it to "
        "0: declare it positive: true (the assumptions then cannot set it to 0 or below)",
    )
    assert elapsed < 5


def test_a_divisor_reached_through_figures_names_the_input_and_the_figure(tmp_path: Path) -> None:
    text = (ROOT / "model.yaml").read_text(encoding="utf-8")
    folder = _project(tmp_path, model_text=text.replace("ranged: true, positive: true}", "ranged: true}"))
    result, _ = run("check", P, str(folder))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "inputs.users.conversion_rate: users.conversion_rate at 0 can make arr.forward 0, which divides" in (
        result.stderr
    )


def _signs(names: dict[str, int]):
    return lambda name: names[name]


@pytest.mark.parametrize(
    ("formula", "signs", "expected"),
    [
        ("a / b", {"a": 1, "b": 2}, expr.NONNEGATIVE),
        ("1 + a", {"a": 1}, expr.POSITIVE),
        ("a - b", {"a": 2, "b": 2}, expr.ANY),
        ("a * b", {"a": 2, "b": 1}, expr.NONNEGATIVE),
        ("a ** 2", {"a": 0}, expr.NONNEGATIVE),
        ("a ** 3", {"a": 0}, expr.ANY),
        ("a ** 0.5", {"a": 1}, expr.NONNEGATIVE),
        ("a ** -1", {"a": 1}, expr.ANY),
        ("abs(a)", {"a": 0}, expr.NONNEGATIVE),
        ("max(a, 1)", {"a": 0}, expr.POSITIVE),
        ("min(a, 1)", {"a": 1}, expr.NONNEGATIVE),
        ("-a", {"a": 2}, expr.ANY),
        ("a < b", {"a": 0, "b": 0}, expr.NONNEGATIVE),
    ],
)
def test_sign_analysis(formula: str, signs: dict[str, int], expected: int) -> None:
    import ast

    assert expr.sign(ast.parse(formula, mode="eval").body, _signs(signs)) == expected


def test_requirements_find_divisors_and_powers() -> None:
    found = [(r.text, r.strict, r.why) for r in expr.requirements("a / (b + c) + d ** -2 + e ** 0.5 + f ** g")]
    assert found == [
        ("b + c", True, "divides"),
        ("d", True, "is raised to a negative power"),
        ("e", False, "is raised to a fractional power"),
        ("f", True, "is raised to a power that is not a fixed number"),
    ]


def test_the_engine_never_raises_on_arithmetic() -> None:
    env = {"a": 1.0, "z": 0.0, "n": -8.0, "big": 1e300}
    assert math.isinf(expr.parse("a / z").evaluate(env))
    assert math.isnan(expr.parse("z / z").evaluate(env))
    assert math.isnan(expr.parse("n ** 0.5").evaluate(env))  # never a complex number
    assert math.isinf(expr.parse("big * big").evaluate(env))
    assert math.isinf(expr.parse("10 ** 400").evaluate(env))


def test_a_range_corner_that_is_not_finite_is_refused() -> None:
    definitions = (model.FigureDef("x.ratio", "Ratio", "ratio", "x.a / x.b"),)
    inputs = {"x.a": model.Quantity(1.0), "x.b": model.Quantity(1.0, 0.0, 1.0)}
    with pytest.raises(model.ModelError, match=r"x.ratio = x.a / x.b is not a finite number .*ranges of x.b"):
        model.compute(inputs, definitions)
    with np.errstate(all="raise"), pytest.raises(model.ModelError):  # the engine's errstate holds in the caller's
        model.compute({"x.a": model.Quantity(1.0), "x.b": model.Quantity(0.0)}, definitions)


# ------------------------------------------------------------------ formatting extremes


@pytest.mark.parametrize("value", [1e200, -1e200, 1.7e308, 1e-320, 5e-324, -0.0, 0.0, math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("unit", ["money", "count", "share", "change", "multiple", "ratio", "number", "date", "year"])
def test_every_number_formats(value: float, unit: str) -> None:
    text = fmt.by_unit(value, unit)
    assert text and len(text) < 30, text


def test_extremes_read_in_scientific_notation() -> None:
    assert fmt.money(1e200) == "$1e+200"
    assert fmt.money(2.5e15) == "$2.5e+15"
    assert fmt.money(660e6) == "$660M"  # the ordinary sizes are unchanged
    assert fmt.pct(1e-9) == "1e-7%"
    assert fmt.pct(0.0039) == "0.39%"
    assert fmt.plain(1e-7) == "1e-7"
    assert fmt.by_unit(math.inf, "money") == "\u221e"


# ------------------------------------------------------------------ limits and URLs


def _assumptions_with(tmp: Path, old: str, new: str) -> tuple[Path, str]:
    text = BUNDLED.read_text(encoding="utf-8")
    assert old in text
    changed = text.replace(old, new, 1)
    folder = _project(tmp)
    (folder / "assumptions.yaml").unlink()
    (folder / "assumptions.yaml").write_text(changed, encoding="utf-8")
    return folder, changed


def test_a_900_kb_title_is_refused_at_once(tmp_path: Path) -> None:
    folder, text = _assumptions_with(tmp_path, '"Venice (VVV): pricing', '"' + "x" * 900_000 + " Venice (VVV): pricing")
    line, column = line_col(text, '"xxx')
    result, elapsed = run("check", P, str(folder))
    length = len("x" * 900_000 + " Venice (VVV): pricing a privacy-first inference platform")
    refused(result, f"{folder / 'assumptions.yaml'}:{line}:{column}: error: memo.title: is {length:,} characters long; the limit "
            "is 300")  # fmt: skip
    assert elapsed < 5


def test_a_huge_sensitivity_grid_is_refused(tmp_path: Path) -> None:
    old = "multipliers: [0.5, 0.75, 1, 1.34, 1.7]"
    values = ", ".join(str(1 + i) for i in range(1000))
    folder, changed = _assumptions_with(tmp_path, old, f"multipliers: [{values}]")
    line, column = line_col(changed, "[1, 2, 3")
    result, _ = run("check", P, str(folder))
    output = result.stderr
    assert result.returncode == 1 and "Traceback" not in output
    assert f"{folder / 'assumptions.yaml'}:{line}:{column}: error: " in output
    assert "has 1,000 items; the limit is 50" in output


def test_too_many_draws_are_refused(tmp_path: Path) -> None:
    folder, changed = _assumptions_with(tmp_path, "draws: 200_000", "draws: 5_000_000")
    line, column = line_col(changed, "5_000_000")
    result, _ = run("check", P, str(folder))
    refused(result, f"{folder / 'assumptions.yaml'}:{line}:{column}: error: uncertainty.draws: must be a whole number from 1 to "
            "1,000,000, got number 5e+06")  # fmt: skip
    assert schema.MAX_DRAWS == 1_000_000


def test_a_javascript_url_is_refused(tmp_path: Path) -> None:
    old = '    path: "../shared/source/vvv-analysis.txt"'
    folder, changed = _assumptions_with(tmp_path, old, old + '\n    url: "javascript:alert(document.cookie)"')
    line, column = line_col(changed, '"javascript:')
    result, _ = run("check", P, str(folder))
    refused(result, f"{folder / 'assumptions.yaml'}:{line}:{column}: error: sources.vvv-analysis.url: must be an https: or http: "
            "URL or a relative link, not a javascript: URL")  # fmt: skip


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/a?b=c#d", True),
        ("http://example.com", True),
        ("../source/report.pdf", True),
        ("report.html#page=3", True),
        ("//example.com/x", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html;base64,PHNjcmlwdD4=", False),
        ("vbscript:x", False),
        ("file:///etc/passwd", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("https:example.com", False),
        ("https:\\\\example.com", False),
    ],
)
def test_url_schemes(url: str, ok: bool) -> None:
    assert (url_problem(url) is None) is ok


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("plain text, tabs\tand\nlines\r\n", None),
        ("caf\u00e9 \u20ac \U0001f600 \u05e9\u05dc\u05d5\u05dd", None),
        ("a\x00", (1, "U+0000 (NUL)")),
        ("\x08", (0, "U+0008 (BS)")),
        ("\x7f", (0, "U+007F (DEL)")),
        ("\x9f", (0, "U+009F (a control character)")),
        ("\uffff", (0, "U+FFFF (a noncharacter)")),
        ("\ufdd0", (0, "U+FDD0 (a noncharacter)")),
        ("\U0010fffe", (0, "U+10FFFE (a noncharacter)")),
        ("\udc80", (0, "U+DC80 (a lone surrogate: the text was not valid UTF-8)")),
    ],
)
def test_forbidden_characters(text: str, found: tuple[int, str] | None) -> None:
    assert load.forbidden_character(text) == found


def test_keys_may_not_hold_line_breaks() -> None:
    document = load.load_text('"a\\nb": 1\n', "f.yaml")
    assert [str(d) for d in document.problems] == ["f.yaml:1:1: error: a key holds U+000A (LF); remove it"]


def test_a_scenario_with_no_finite_figure_is_refused() -> None:
    from memo import analysis, validate
    from memo.inputs import read_inputs

    project = load_project(ROOT)
    assumptions = read_inputs(BUNDLED, project.model).assumptions
    broken = validate.Scenario("broken", "why not", {"users.registered_date": assumptions.inputs[
        "users.registered_earlier_date"].number})  # fmt: skip
    with_broken = type(assumptions)(**{**assumptions.__dict__, "scenarios": {"broken": broken}})
    figures, _ = analysis.compute(assumptions)
    with pytest.raises(
        MemoError, match=r"in the broken scenario: users.registration_rate_monthly = .* is not a finite"
    ):
        analysis.analyse(with_broken, figures)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain\tand\nlines", "plain\tand\nlines"),
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),
        ("\x1b[2J", "\\x1b[2J"),
        ("a\rb", "a\\x0db"),
        ("\x9b", "\\x9b"),
        ("\udcff", "\\udcff"),
        ("caf\u00e9", "caf\u00e9"),
    ],
)
def test_printable_escapes_what_a_terminal_would_obey(text: str, shown: str) -> None:
    from memo.terminal import printable

    assert printable(text) == shown
