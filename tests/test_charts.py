"""The charts stage: chart modules may return a Vega-Lite dict or an Altair chart, the bundled ones stay cheap, and
vl-convert gives the same bytes in a worker process as in this one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from memo import charts, render
from memo.converter import ConversionError, InProcess, Worker
from memo.errors import MemoError
from tests.bundled import analyse, compute, read_inputs
from tests.conftest import BUNDLED, ROOT

AS_DICT = """
TITLE = "Paid users"
SOURCE = "Source: test."


def build(d):
    rows = [{"what": "Paid users", "value": d.value("users.paid"), "label": d.show("users.paid")}]
    spec = {
        "data": {"values": rows},
        "width": 300,
        "height": 60,
        "layer": [
            {"mark": {"type": "bar"}, "encoding": {"x": {"field": "value", "type": "quantitative"},
                                                  "y": {"field": "what", "type": "nominal", "title": None}}},
            {"mark": {"type": "text", "align": "left", "dx": 4},
             "encoding": {"x": {"field": "value", "type": "quantitative"},
                          "y": {"field": "what", "type": "nominal", "title": None},
                          "text": {"field": "label", "type": "nominal"}}},
        ],
    }
    return spec, "One bar: " + d.show("users.paid") + " paid users."
"""

AS_ALTAIR = """
import altair as alt
import pandas as pd

TITLE = "Paid users"
SOURCE = "Source: test."


def build(d):
    frame = pd.DataFrame([{"what": "Paid users", "value": d.value("users.paid"), "label": d.show("users.paid")}])
    base = alt.Chart(frame).encode(x="value:Q", y=alt.Y("what:N", title=None))
    chart = (base.mark_bar() + base.mark_text(align="left", dx=4).encode(text="label:N")).properties(
        width=300, height=60
    )
    return chart, "One bar: " + d.show("users.paid") + " paid users."
"""

BROKEN = """
TITLE = "Broken"
SOURCE = "Source: test."


def build(d):
    return {"mark": "bar"}, d.value("no.such.figure")
"""


@pytest.fixture(scope="module")
def model_parts():
    assumptions = read_inputs(BUNDLED).assumptions
    figures, _ = compute(assumptions)
    analysis = analyse(assumptions, figures)
    return (
        {**figures, **analysis.extra_figures},
        {**assumptions.inputs, **analysis.extra_inputs},
        render.load_content(ROOT / "templates"),
        analysis,
    )


def test_a_chart_may_be_a_vega_lite_dict_or_an_altair_chart(tmp_path: Path, model_parts) -> None:
    (tmp_path / "as_dict.py").write_text(AS_DICT)
    (tmp_path / "as_altair.py").write_text(AS_ALTAIR)
    built = charts.build_all(tmp_path, *model_parts)
    as_dict, as_altair = built["as_dict"], built["as_altair"]
    assert as_dict.reads == as_altair.reads == ("users.paid",)
    # the same chart, whichever way it was written: the same drawing once each chart's own ids are set aside
    assert as_dict.svg.replace("as_dict", "NAME") == as_altair.svg.replace("as_altair", "NAME")
    assert 'role="img"' in as_dict.svg and "One bar:" in as_dict.svg


def test_a_failing_chart_module_names_its_file(tmp_path: Path, model_parts) -> None:
    (tmp_path / "broken.py").write_text(BROKEN)
    line = next(i for i, text in enumerate(BROKEN.splitlines(), 1) if "no.such.figure" in text)
    with pytest.raises(MemoError) as caught:
        charts.build_all(tmp_path, *model_parts)
    message = str(caught.value)
    assert message.startswith(f"charts/broken.py:{line}:"), message
    assert "error: figure 'no.such.figure': the model defines no such figure" in message
    assert "\n" not in message


def test_the_bundled_charts_import_neither_altair_nor_pandas() -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from memo import charts, render\n"
        "from tests.bundled import PROJECT, analyse, compute, read_inputs\n"
        f"a = read_inputs(Path({str(BUNDLED)!r})).assumptions\n"
        "f, _ = compute(a)\n"
        "an = analyse(a, f)\n"
        "built = charts.build_all(Path('charts'), {**f, **an.extra_figures}, {**a.inputs, **an.extra_inputs},\n"
        "                         render.load_content(Path('templates')), an, project=PROJECT)\n"
        "print(len(built), 'altair' in sys.modules, 'pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    count, altair, pandas = result.stdout.split()
    assert int(count) == len(charts.available(ROOT / "charts")) and (altair, pandas) == ("False", "False")


SPEC = {
    "data": {"values": [{"a": "x", "b": 2}, {"a": "y", "b": 3}]},
    "mark": "bar",
    "encoding": {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative"}},
}
BAD_SPEC = {"mark": "no-such-mark", "data": {"values": []}}


def test_the_worker_process_converts_exactly_as_this_process_does() -> None:
    wide = {**SPEC, "width": 400}
    with Worker.start() as worker:
        # asked in one order, waited for in another: each answer still goes to its own question
        first, second, picture = worker.submit("svg", SPEC), worker.submit("svg", wide), worker.submit("png", SPEC)
        assert picture() == InProcess().submit("png", SPEC)()
        assert second() == InProcess().submit("svg", wide)() != first() == InProcess().submit("svg", SPEC)()
        with pytest.raises(ConversionError) as from_worker:
            worker.submit("svg", BAD_SPEC)()
        assert worker.submit("svg", SPEC)() == first()  # still serving after a failed conversion
    with pytest.raises(ConversionError) as here:
        InProcess().submit("svg", BAD_SPEC)()
    assert str(from_worker.value) == str(here.value)
    assert str(here.value).startswith("ValueError: Vega-Lite to SVG conversion failed") and "    at " not in str(
        here.value
    )


def test_a_worker_that_stopped_is_replaced_by_converting_here() -> None:
    here = InProcess().submit("svg", SPEC)()
    with Worker.start() as worker:
        assert worker.submit("svg", SPEC)() == here
        worker.process.kill()
        worker.process.wait()
        late = worker.submit("svg", SPEC)
        assert late() == here and late() == here
        with pytest.raises(ConversionError, match=r"^ValueError: Vega-Lite to SVG"):
            worker.submit("svg", BAD_SPEC)()


def test_a_garbled_answer_is_not_taken_for_a_chart() -> None:
    babbler = "import sys, time; sys.stdout.write('not an answer\\n'); sys.stdout.flush(); time.sleep(30)"
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
    with Worker(subprocess.Popen([sys.executable, "-c", babbler], **pipes)) as worker:
        assert worker.submit("svg", SPEC)() == InProcess().submit("svg", SPEC)()


def test_a_chart_vl_convert_refuses_names_its_module(tmp_path: Path, model_parts) -> None:
    (tmp_path / "odd.py").write_text(
        f'TITLE = "Odd"\nSOURCE = "Source: test."\n\n\ndef build(d):\n    return {BAD_SPEC!r}, \'An odd chart.\'\n'
    )
    with Worker.start() as worker, pytest.raises(MemoError, match=r"^charts/odd\.py: ValueError: Vega-Lite to SVG"):
        charts.build_all(tmp_path, *model_parts, converter=worker)
