"""Render stage: the Jinja templates write the memo around the model's figures, as one HTML document.

Every number reaches the page through ``fig()`` or a formatting filter, so it is the model's own figure, formatted
one way everywhere, and (in the HTML) carries its provenance: label, formula and inputs, on hover or focus.
Autoescaping is on and an undefined name fails the build.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from memo import fonts, phrases, xref
from memo import format as fmt
from memo.cache import Cache
from memo.charts import Chart
from memo.errors import Diagnostic, InputError, MemoError
from memo.load import load_file
from memo.markup import PROVENANCE_OPEN
from memo.model import Check, Figure, reach
from memo.page import CSP, PREFIX, templates_loader
from memo.validate import Assumptions, Input

DAGGER = "\u2020"
# The engine's own markup (provenance links and the tip explorer.js shows) is styled here, so every project gets it
# whatever its stylesheet's age; the project's stylesheet comes after and restyles it at will.
ENGINE_CSS = """.fig-link { color: inherit; text-decoration: none; }
@media screen {
  .prov-tip {
    position: absolute; z-index: 20; box-sizing: border-box; width: max-content; max-width: min(24rem, calc(100vw - 1rem));
    background: var(--ink, #1f2933); color: #fff; padding: 0.5rem 0.7rem; border-radius: 4px;
    font: 400 0.72rem/1.45 var(--sans, sans-serif); box-shadow: 0 4px 14px rgba(0,0,0,.18); text-align: left;
    overflow-y: auto;
  }
  .prov-tip[hidden] { display: none; }
  .prov-tip p { margin: 0 0 0.25rem; hyphens: manual; }
  .prov-tip ul { margin: 0 0 0.25rem; padding-left: 1rem; }
  .prov-tip li { margin: 0; }
  .prov-tip code { font-size: 0.95em; overflow-wrap: anywhere; }
  .prov-tip .about-hint { color: #cbd2d9; margin: 0.35rem 0 0; }
}
"""


@dataclass
class Document:
    """Everything the templates may read."""

    assumptions: Assumptions
    figures: Mapping[str, Figure]
    checks: Sequence[Check]
    charts: Mapping[str, Chart]
    content: Mapping[str, Any]
    css: str
    inputs: Mapping[str, Input] | None = None  # the assumptions' inputs and each scenario's replacements
    analysis: Any = None  # memo.build.Analysis: scenarios, grids, tornado, simulation, claims
    scenario: str | None = None  # the scenario this memo was built for (None: the file's own inputs)
    base_url: str | None = None  # where the site will live, for the absolute URLs social cards need
    filed: Mapping[str, Input] | None = None  # the inputs as the assumptions file gives them (before --set, scenario)
    chart_numbers: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.inputs is None:
            self.inputs = self.assumptions.inputs
        if self.filed is None:
            self.filed = self.assumptions.inputs

    @cached_property
    def sourced(self) -> dict[str, Input]:
        """The inputs that credit a source, with the value the source (the file) gives them."""
        return {name: item for name, item in self.filed.items() if item.source is not None}


def load_content(templates_dir: Path) -> dict[str, Any]:
    """The qualitative content (tables, lists) kept as YAML beside the templates, by file name. Every problem in
    any of the files (syntax, duplicate keys, tags) is reported at once, at its file, line and column."""
    from memo.project import display

    content_dir = templates_dir / "content"
    out: dict[str, Any] = {}
    problems: list[Diagnostic] = []
    for path in sorted(content_dir.glob("*.yaml")):
        try:
            document = load_file(path, display(path))
        except InputError as exc:
            problems += exc.diagnostics
            continue
        problems += document.problems
        out[path.stem] = document.data
    if problems:
        raise InputError(problems)
    return out


class _Helpers:
    """The functions templates call. Kept in one place so the lint of templates knows what is allowed."""

    def __init__(self, doc: Document, refs: xref.References, page: str = "memo.html") -> None:
        self.doc = doc
        self.refs = refs
        self.footnotes = 0
        self.page = page
        self.about: dict[str, Markup] = {}  # description id -> its element, in order of first use

    def _figure(self, name: str) -> Figure:
        try:
            return self.doc.figures[name]
        except KeyError:
            raise jinja2.UndefinedError(f"no figure named {name!r}") from None

    def tip(self, figure: Figure) -> str:
        lines = [f"{figure.label}", f"= {figure.formula}"]
        for ref in figure.inputs:
            if ref in self.doc.figures and ref != figure.name:
                other = self.doc.figures[ref]
                lines.append(f"{ref} = {fmt.by_unit(other.value, other.unit)}")
            else:
                item = self.doc.inputs[ref]
                lines.append(f"{ref} = {fmt.by_unit(item.number, item.unit)} (input; {self._source_words(item)})")
        if figure.estimate:
            lines.append(f"{DAGGER} rests on an estimate; see Methodology")
        return "\n".join(lines)

    def fig(self, name: str, part: str = "value") -> Markup:
        """A figure as the memo prints it: ``part`` is value, low, high or range. A figure without a range (in a
        scenario that fixed its inputs, say) prints its value for all four."""
        figure = self._figure(name)
        if part == "range" and figure.low is not None:
            text = fmt.span(figure.low, figure.high, figure.unit)
        elif part in ("low", "high", "range"):
            value = getattr(figure, part, None) if part != "range" else None
            text = fmt.by_unit(figure.value if value is None else value, figure.unit)
        elif part == "value":
            text = fmt.by_unit(figure.value, figure.unit)
        else:
            raise jinja2.UndefinedError(f"fig() part must be value, low, high or range, not {part!r}")
        return self._figure_span(figure, text)

    def _figure_span(self, figure: Figure, text: str) -> Markup:
        mark = Markup(f'<sup class="est">{DAGGER}</sup>') if figure.estimate else Markup("")
        about = self._describe(f"about-figure-{figure.name}", lambda: self._about_figure(figure))
        link = self._to_row("figure", figure.name, about, escape(text))
        return Markup('<span class="fig" data-figure="{}" data-tip="{}">{}{}</span>').format(
            figure.name, self.tip(figure), link, mark
        )

    # ------------------------------------------------------------ provenance for keyboards and screen readers
    # Each printed number is a link to its row in the appendix whose accessible description (aria-describedby)
    # is one element per figure or input, kept in a hidden container at the end of the body (see
    # provenance_container); explorer.js shows the same element as the visible tip on hover and focus.

    def _to_row(self, kind: str, name: str, about: str, content: Markup) -> Markup:
        target = f"{kind}-{self._unscenario(name, self.doc.figures if kind == 'figure' else self.doc.inputs)}"
        href = ("#" if self.page == "memo.html" else "memo.html#") + target
        return Markup('<a class="fig-link" href="{}" aria-describedby="{}">{}</a>').format(href, about, content)

    def _unscenario(self, name: str, known: Mapping[str, Any]) -> str:
        """The base name of a scenario's copy of a figure or input (``scenario.bear.arr.forward``): the appendix
        lists the base one, whose formula the copy shares."""
        for scenario in self.doc.assumptions.scenarios:
            prefix = f"scenario.{scenario}."
            if name.startswith(prefix) and name.removeprefix(prefix) in known:
                return name.removeprefix(prefix)
        return name

    def _describe(self, about: str, build: Callable[[], Markup]) -> str:
        if about not in self.about:
            self.about[about] = Markup('<div class="about" id="{}">{}</div>').format(about, build())
        return about

    def _label(self, name: str) -> str:
        if name in self.doc.figures:
            return self.doc.figures[name].label
        model = self.doc.assumptions.model
        base = self._unscenario(name, model.inputs if model else {})
        return model.inputs[base].label if model and base in model.inputs else name

    def _source_words(self, item: Input) -> str:
        """Where an input comes from, in a few words: "Liberman 2026, <where>", or "estimate"."""
        if item.source is None:
            return "estimate"
        source = self.doc.assumptions.sources.get(item.source.ref)
        cited = f"{source.author.split()[-1]} {source.date[:4]}" if source else item.source.ref
        return f"{cited}, {item.source.where}"

    def _sources_line(self, names: Sequence[str]) -> Markup:
        """The sources (by title) and estimates that the named inputs rest on, once each."""
        found: dict[str, None] = {}
        for name in names:
            item = self.doc.inputs[name]
            source = self.doc.assumptions.sources.get(item.source.ref) if item.source else None
            cited = f"{source.author} ({source.date[:4]}), \u201c{source.title}\u201d" if source else None
            found.setdefault(cited or (item.source.ref if item.source else "estimates"), None)
        return Markup("<p>Sources: {}.</p>").format("; ".join(found)) if found else Markup("")

    def _about_figure(self, figure: Figure) -> Markup:
        value = fmt.by_unit(figure.value, figure.unit)
        if figure.low is not None:
            value += f" (range {fmt.span(figure.low, figure.high, figure.unit)})"
        reads = []
        for ref in figure.inputs:
            if ref in self.doc.figures and ref != figure.name:
                other = self.doc.figures[ref]
                words = f"{fmt.by_unit(other.value, other.unit)}, computed"
            else:
                item = self.doc.inputs[ref]
                words = f"{fmt.by_unit(item.number, item.unit)}, input: {self._source_words(item)}"
            end = "." if ref == figure.inputs[-1] else ";"
            reads.append(Markup("<li><code>{}</code> ({}) = {}{}</li>").format(ref, self._label(ref), words, end))
        inputs_of = {n: f.inputs for n, f in self.doc.figures.items()}
        estimate = Markup("<p>{} Rests on an estimate; see the methodology.</p>").format(DAGGER)
        return Markup(
            '<p class="about-head"><strong>{}</strong>: {}.</p><p>Formula: <code>{}</code>.</p>'
            "<p>It reads:</p><ul>{}</ul>{}{}"
        ).format(
            figure.label,
            value,
            figure.formula,
            Markup("").join(reads),
            self._sources_line(reach(inputs_of, figure.name)),
            estimate if figure.estimate else "",
        )

    def _about_input(self, name: str, item: Input, as_sourced: bool = False) -> Markup:
        value = self._value_text(item, "range" if item.low is not None else "value")
        kind = "as the source gives it" if as_sourced else "an input" + (", an estimate" if item.estimate else "")
        if as_sourced and self.source_differs(name):
            value += f" (this build assumes {self._both_values(name)[1]})"
        note = Markup("<p>{}</p>").format(item.note) if item.note and not as_sourced else ""
        if not as_sourced and name in self.doc.sourced and self.source_differs(name):
            note = Markup("<p>The source gives {}; this build assumes {}.</p>{}").format(*self._both_values(name), note)
        where = Markup("<p>Where: {}.</p>").format(item.source.where) if item.source else ""
        return Markup('<p class="about-head"><strong>{}</strong> (<code>{}</code>), {}: {}.</p>{}{}{}').format(
            self._label(name), name, kind, value, where, self._sources_line([name]), note
        )

    def provenance_container(self) -> Markup:
        """Every description the page's numbers point at; hidden (a screen reader still reads a hidden element
        that aria-describedby names), so neither the page nor the PDF shows it."""
        if not self.about:
            return Markup("")
        return Markup(PROVENANCE_OPEN + "\n{}\n</div>\n").format(Markup("\n").join(self.about.values()))

    # ------------------------------------------------------------ words computed from figures (memo.phrases)

    @staticmethod
    def _phrase(words: str | Markup, guard: str) -> Markup:
        return Markup('<span class="phrase" data-guard="{}">{}</span>').format(guard, words)

    def _number(self, operand: str | float) -> float:
        return self._figure(operand).value if isinstance(operand, str) else float(operand)

    def moved(self, name: str, up: str = "up {}", down: str = "down {}", same: str = "unchanged") -> Markup:
        """A change in words: ``name`` is a relative change (unit "change": 0.5 is up 50%) or a growth multiple
        (unit "multiple": 3.0x, where 1.0x is no change). The words for a rise, a fall or no change are given
        with ``{}`` where the size goes; the size printed is unsigned, so no sentence reads "up −25%"."""
        figure = self._figure(name)
        way, pattern, shown = phrases.moved(figure.value, figure.unit, up, down, same)
        before, placeholder, after = pattern.partition("{}")
        number = self._figure_span(figure, shown) if placeholder else Markup("")
        words = Markup("{}{}{}").format(before, number, after)
        return self._phrase(words, f"moved {name}: {way}")

    def compare(self, a: str | float, b: str | float) -> Markup:
        """How ``a`` stands against ``b``: "well above", "above", "about the same as", "below" or "well below"."""
        words = phrases.compare(self._number(a), self._number(b))
        return self._phrase(words, f"compare {a} with {b}: {words}")

    def compared(self, a: str | float, b: str | float) -> str:
        """The same verdict as ``compare``, as a plain string for a condition."""
        return phrases.compare(self._number(a), self._number(b))

    def place(self, value: str | float, one: str | float, other: str | float) -> Markup:
        """Where ``value`` lies against two others: "midway between", "between", "below both", "above both"."""
        words = phrases.place(self._number(value), self._number(one), self._number(other))
        return self._phrase(words, f"place {value} against {one} and {other}: {words}")

    def portion(self, part: int, whole: int) -> Markup:
        """How much of a whole a count is: "all", "most", "about half", "less than half", "none"."""
        words = phrases.portion(part, whole)
        return self._phrase(words, f"portion {part} of {whole}: {words}")

    def range_drivers(self, name: str) -> list[str]:
        """The ranged inputs a figure's range comes from, as labels for a sentence ("as ARPPU ... move")."""
        inputs_of = {n: f.inputs for n, f in self.doc.figures.items()}
        reached = reach(inputs_of, name) if name in inputs_of else ()
        return [
            phrases.lower_first(self.input_label(item))
            for item in reached
            if item in self.doc.inputs and self.doc.inputs[item].low is not None
        ]

    # ------------------------------------------------------------ what the source says, and what this build uses

    def _sourced(self, name: str) -> Input:
        if name not in self.doc.inputs:
            raise jinja2.UndefinedError(f"no input named {name!r}")
        if name not in self.doc.sourced:
            raise jinja2.UndefinedError(f"input {name!r} credits no source (it is an estimate)")
        return self.doc.sourced[name]

    def source_differs(self, name: str) -> bool:
        """This build uses another value for a sourced input than the source gives (``--set``, a scenario)."""
        self._sourced(name)
        return self.edited(name)

    def edited(self, name: str) -> bool:
        """This build uses another value for an input than the assumptions file gives (``--set``, a scenario), so
        the file's note on it describes a value the memo does not use."""
        given = self.doc.filed.get(name)
        return given is not None and self.doc.inputs[name].differs_from(given)

    def sourced(self, name: str, part: str = "value", beside_build: bool = True) -> Markup:
        """An input's value as the source gives it (``part``: value, or range for a ranged input), followed, when
        this build uses another value, by "(this build assumes ...)". Every sentence that credits a value to the
        source prints it through here."""
        given = self._sourced(name)
        text = self._value_text(given, part)
        tip = f"{name}: as the source gives it ({given.source.where})" if given.source else name
        about = self._describe(f"about-source-{name}", lambda: self._about_input(name, given, as_sourced=True))
        shown = Markup('<span class="fig sourced" data-input="{}" data-tip="{}">{}</span>').format(
            name, tip, self._to_row("input", name, about, escape(text))
        )
        if not beside_build or not self.source_differs(name):
            return shown
        used = self.doc.inputs[name]
        return Markup('{} <span class="this-build">(this build assumes {})</span>').format(
            shown, self.inp(name, "range" if part == "range" and used.low is not None else "value")
        )

    @staticmethod
    def _value_text(item: Input, part: str) -> str:
        if part == "range" and item.low is not None:
            return fmt.span(item.low, item.high, item.unit)
        if part not in ("value", "range"):
            raise jinja2.UndefinedError(f"part must be value or range, not {part!r}")
        return fmt.by_unit(item.number, item.unit)

    def inp(self, name: str, part: str = "value") -> Markup:
        """An input as this build uses it (``part``: value, or range), with its note as the tip."""
        if name not in self.doc.inputs:
            raise jinja2.UndefinedError(f"no input named {name!r}")
        item = self.doc.inputs[name]
        mark = Markup(f'<sup class="est">{DAGGER}</sup>') if item.estimate else Markup("")
        tip = f"{name} (input{', estimate' if item.estimate else ''}; {self._source_words(item)})" + (
            f"\n{item.note}" if item.note else ""
        )
        about = self._describe(f"about-input-{name}", lambda: self._about_input(name, item))
        link = self._to_row("input", name, about, escape(self._value_text(item, part)))
        return Markup('<span class="fig" data-input="{}" data-tip="{}">{}{}</span>').format(name, tip, link, mark)

    def val(self, name: str, part: str = "value") -> float:
        """A figure's raw value, for conditions in the prose ("below the peers' multiple")."""
        value = getattr(self._figure(name), part)
        if value is None:
            raise jinja2.UndefinedError(f"figure {name!r} has no {part}")
        return value

    def source_note(self, input_name: str) -> Markup:
        """A footnote citing where an input comes from, and saying so when this build uses another value."""
        item: Input = self.doc.inputs[input_name]
        if item.source is None:
            return self.note(Markup("Estimate, not from the source: {}").format(item.note or ""))
        source = self.doc.assumptions.sources[item.source.ref]
        text = Markup("{} ({}), \u201c{}\u201d, {}; figure dated {}.").format(
            source.author, source.date[:4], source.title, item.source.where, item.source.date
        )
        if self.source_differs(input_name):
            text += Markup(" The source gives {}; this build assumes {}.").format(*self._both_values(input_name))
        return self.note(text)

    def departures(self) -> list[dict[str, Any]]:
        """The sourced inputs this build sets to another value than the source's, with both values."""
        out = []
        for name in self.doc.sourced:
            if name in self.doc.inputs and self.source_differs(name):
                source, build = self._both_values(name)
                out.append({"name": name, "source": source, "build": build})
        return out

    def _both_values(self, name: str) -> tuple[str, str]:
        """A sourced input as the source gives it and as this build uses it, both as ranges if either is one."""
        given, used = self.doc.sourced[name], self.doc.inputs[name]
        part = "range" if used.low is not None or given.low is not None else "value"
        return self._value_text(given, part), self._value_text(used, part)

    def note(self, text: str | Markup) -> Markup:
        self.footnotes += 1
        return Markup(
            '<span class="fn"><span class="fn-call" tabindex="0">{}</span><span class="fn-body">{}</span></span>'
        ).format(self.footnotes, text)

    def chart(self, name: str, caller: Callable[[], str] | None = None) -> Markup:
        """A numbered figure: the chart's SVG, its title, the caption written in the template, its source."""
        if name not in self.doc.charts:
            raise jinja2.UndefinedError(f"no chart named {name!r} in charts/")
        if name in self.doc.chart_numbers:
            raise jinja2.UndefinedError(f"chart {name!r} is placed twice")
        number = len(self.doc.chart_numbers) + 1
        self.doc.chart_numbers[name] = number
        self.refs.place(name, "figure", f"fig-{name}", f"Figure {number}")
        chart = self.doc.charts[name]
        caption = Markup(caller()) if caller else Markup("")
        live = Markup("")
        if chart.interactive:
            spec = json.dumps(chart.spec, sort_keys=True, ensure_ascii=False).replace("</", "<\\/")
            live = Markup('<script type="application/json" data-explorer="view-{}">{}</script>').format(
                name, Markup(spec)
            )
        return Markup(
            '<figure class="chart-figure" id="fig-{name}">'
            '<figcaption class="chart-title"><span class="fig-no">Figure {number}.</span> {title}</figcaption>'
            '<div class="chart-body" id="view-{name}">{svg}</div>{live}'
            '<p class="chart-caption">{caption}</p>'
            '<p class="chart-source">{source}</p>'
            "</figure>"
        ).format(
            name=name,
            number=number,
            title=chart.title,
            svg=Markup(chart.svg),
            live=live,
            caption=caption,
            source=chart.source,
        )

    def table_caption(self, name: str, text: str | Markup = "", caller: Callable[[], str] | None = None) -> Markup:
        """A table's numbered caption ("Table 3. ..."), inside its <table>; ``ref(name)`` points at it."""
        anchor, number = self.refs.table(name)
        body = Markup(caller()) if caller else escape(text)
        return Markup('<caption id="{}"><span class="tab-no">Table {}.</span> {}</caption>').format(
            anchor, number, body
        )

    def ref(self, name: str) -> Markup:
        """ "Figure 7", "Table 3" or a section's title, linked to it (and with its page in the PDF)."""
        return self.refs.ref(name)

    def contents(self) -> Markup:
        """The list of the page's sections, with links (and pages and leaders in the PDF), made from their headings."""
        return Markup(xref.CONTENTS_MARK)

    def checks_for(self, name: str) -> list[Check]:
        return [c for c in self.doc.checks if c.figure == name]

    def differences(self) -> list[Check]:
        """The source's stated figures that its own inputs do not reproduce (a property of the source)."""
        return [c for c in self.doc.checks if not c.holds]

    def source_checks(self) -> list[Check]:
        return list(self.doc.checks)

    def stated(self, check: Check) -> str:
        figure = self.doc.figures[check.figure]
        parts = check.stated
        if "value" in parts:
            return fmt.by_unit(parts["value"], figure.unit)
        if "below" in parts:
            return "below " + fmt.by_unit(parts["below"], figure.unit)
        if "above" in parts:
            return "at least " + fmt.by_unit(parts["above"], figure.unit)
        return fmt.span(parts["low"], parts["high"], figure.unit)

    def modelled(self, check: Check) -> Markup:
        """What the model gets for a stated figure from the source's own inputs, followed, when this build's
        inputs give another figure, by "(this build: ...)"."""
        shown = escape(self._check_text(check, check.model))
        if not check.build_differs:
            return shown
        return Markup('{} <span class="this-build">(this build: {})</span>').format(
            shown, self._check_text(check, check.build)
        )

    def _check_text(self, check: Check, parts: Mapping[str, float]) -> str:
        unit = self.doc.figures[check.figure].unit
        if "value" in parts and unit == "change" and parts["value"] < 0:
            return "a fall of " + fmt.by_unit(-parts["value"], unit)
        if "value" in parts:
            return fmt.by_unit(parts["value"], unit)
        if fmt.by_unit(parts["low"], unit) == fmt.by_unit(parts["high"], unit):
            return fmt.by_unit(parts["low"], unit)
        return fmt.span(parts["low"], parts["high"], unit)

    def appendix_rows(self) -> list[dict[str, Any]]:
        """Every figure but the per-scenario copies (those are in figures.json), with its sources."""
        rows = []
        inputs_of = {n: f.inputs for n, f in self.doc.figures.items()}
        memo: dict[str, tuple[str, ...]] = {}
        for name, figure in self.doc.figures.items():
            if name.startswith("scenario."):
                continue
            refs = {}
            for item_name in reach(inputs_of, name, memo):
                item = self.doc.inputs[item_name]
                key = item.source.ref if item.source else "estimate"
                refs.setdefault(key, None)
            rows.append({"figure": figure, "sources": list(refs)})
        return rows

    def claimed(self, claim_id: str, caller: Callable[[], str] | None = None) -> Markup:
        """A sentence that relies on a claim: marked in the memo if the claim fails (--allow-failing-claims)."""
        results = {r.claim.id: r for r in (self.doc.analysis.claims if self.doc.analysis else [])}
        if claim_id not in results:
            raise jinja2.UndefinedError(f"no claim with id {claim_id!r} in the assumptions file")
        result = results[claim_id]
        body = Markup(caller()) if caller else Markup("")
        guard = f"claim {claim_id}: {result.claim.holds}: {'holds' if result.holds else 'fails'}"
        if result.holds:
            return Markup('<span class="claim" data-claim="{}" data-guard="{}">{}</span>').format(claim_id, guard, body)
        return Markup(
            '<span class="claim failing" data-claim="{}" data-guard="{}" tabindex="0" data-tip="{}">{}'
            '<sup class="claim-flag">claim fails</sup></span>'
        ).format(claim_id, guard, f"This claim no longer holds: {result.claim.text}\n{result.explain()}", body)

    def scenario_table(self) -> list[dict[str, Any]]:
        """One column per scenario: its name, rationale and figures."""
        analysis = self.doc.analysis
        if analysis is None:
            return []
        return [
            {"name": name, "rationale": s.rationale, "overrides": s.overrides}
            for name, s in self.doc.assumptions.scenarios.items()
        ]

    def grid(self, name: str) -> Any:
        grids = self.doc.analysis.grids if self.doc.analysis else {}
        if name not in grids:
            raise jinja2.UndefinedError(f"no sensitivity grid named {name!r} in the assumptions file")
        return grids[name]

    def tornado(self, target: str) -> list[Any]:
        return self.doc.analysis.tornado[target]

    def simulation(self) -> Any:
        return self.doc.analysis.simulation if self.doc.analysis else None

    def input_label(self, name: str) -> str:
        model = self.doc.assumptions.model
        assert model is not None, "assumptions are validated against the project's model"
        return model.inputs[name].label

    def value_of(self, value: float, name: str) -> str:
        """A value in the unit of an input or figure, for tables of computed variants (grids, scenarios)."""
        unit = self.doc.figures[name].unit if name in self.doc.figures else self.doc.inputs[name].unit
        return fmt.by_unit(value, unit)

    def estimates(self) -> list[Input]:
        return [item for item in self.doc.assumptions.inputs.values() if item.estimate]


def _breakable(name: str) -> Markup:
    """A dotted name that may wrap after its dots and underscores (narrow table columns)."""
    return Markup("<wbr>").join(escape(part) for part in re.split(r"(?<=[._])", name))


class CompiledInProcess(jinja2.BytecodeCache):
    """Compiled templates kept in this process's memory, so that each rebuild of the live preview does not compile
    them again. Never on disk: the build cache holds data only, since code read back from a folder someone else
    can write would run with the user's rights (a fresh process compiles the templates again, about 0.25 s).
    Entries are the code objects Jinja compiled here, keyed by template and source checksum, so an edit is
    compiled afresh; the oldest go once there are more than :attr:`LIMIT`."""

    LIMIT = 512

    def __init__(self) -> None:
        self.code: dict[tuple[str, str], Any] = {}
        self.lock = threading.Lock()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with self.lock:
            bucket.code = self.code.get((bucket.key, bucket.checksum))

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:  # Jinja calls this after a miss
        with self.lock:
            self.code[(bucket.key, bucket.checksum)] = bucket.code
            while len(self.code) > self.LIMIT:
                del self.code[next(iter(self.code))]


COMPILED = CompiledInProcess()


def compile_meanwhile(templates_dir: Path) -> threading.Thread:
    """Compile the project's templates (and the engine's head partial every page includes) into :data:`COMPILED`
    in a thread, while this process waits for vl-convert's charts; join it before rendering, which then only looks
    them up. A template that does not compile is left for rendering to report."""

    def compile_all() -> None:
        env = environment(templates_dir)
        for name in env.list_templates(filter_func=_compiled_ahead):
            with contextlib.suppress(Exception):
                env.get_template(name)

    thread = threading.Thread(target=compile_all, name="memo-templates", daemon=True)
    thread.start()
    return thread


def _compiled_ahead(name: str) -> bool:
    return name.endswith(".j2") and (not name.startswith(f"{PREFIX}/") or name == f"{PREFIX}/head.html.j2")


def environment(templates_dir: Path, store: Cache | None = None) -> jinja2.Environment:
    """The memo's Jinja environment; ``store`` is accepted for callers that pass the build cache, which holds no
    compiled templates (see :class:`CompiledInProcess`)."""
    env = jinja2.Environment(
        loader=templates_loader(templates_dir),  # memo/... names the engine's partials, the rest the project's
        bytecode_cache=COMPILED,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        breakable=_breakable,
        listing=phrases.listing,
        lower_first=phrases.lower_first,
        money=fmt.money,
        multiple=fmt.multiple,
        pct=fmt.pct,
        count=fmt.count,
        ratio=fmt.ratio,
        date=fmt.date,
    )
    return env


def absolute(base_url: str | None, path: str) -> str | None:
    return None if base_url is None else base_url.rstrip("/") + "/" + path


def render_html(
    templates_dir: Path,
    doc: Document,
    template: str = "memo.html.j2",
    page: str = "memo.html",
    cache: Cache | None = None,
) -> str:
    refs = xref.References(templates_dir)
    helpers = _Helpers(doc, refs, page)
    env = environment(templates_dir, cache)
    env.globals.update(
        fig=helpers.fig,
        inp=helpers.inp,
        sourced=helpers.sourced,
        source_differs=helpers.source_differs,
        edited=helpers.edited,
        moved=helpers.moved,
        compare=helpers.compare,
        compared=helpers.compared,
        place=helpers.place,
        portion=helpers.portion,
        range_drivers=helpers.range_drivers,
        departures=helpers.departures,
        source_checks=helpers.source_checks,
        thresholds={"near": phrases.NEAR, "far": phrases.FAR, "middle": phrases.MIDDLE, "most": phrases.MOST},
        claimed=helpers.claimed,
        scenario_table=helpers.scenario_table,
        grid=helpers.grid,
        tornado=helpers.tornado,
        simulation=helpers.simulation,
        value_of=helpers.value_of,
        input_label=helpers.input_label,
        scenario=doc.scenario,
        val=helpers.val,
        source_note=helpers.source_note,
        note=helpers.note,
        chart=helpers.chart,
        table_caption=helpers.table_caption,
        ref=helpers.ref,
        contents=helpers.contents,
        checks_for=helpers.checks_for,
        differences=helpers.differences,
        stated=helpers.stated,
        modelled=helpers.modelled,
        appendix_rows=helpers.appendix_rows,
        estimates=helpers.estimates,
        figures=doc.figures,
        memo=doc.assumptions.memo,
        sources=doc.assumptions.sources,
        inputs=doc.assumptions.inputs,
        scenarios=doc.assumptions.scenarios,
        content=doc.content,
        css=Markup(fonts.font_face_css() + ENGINE_CSS + doc.css),
        dagger=DAGGER,
        csp=CSP,
        asset_prefix="",
        social_image_url=absolute(doc.base_url, "social.png") or "social.png",
        page_url=absolute(doc.base_url, page),
        base_url=doc.base_url,
        chart_svg=lambda name: Markup(doc.charts[name].svg),
    )
    try:
        html = env.get_template(template).render()
    except jinja2.TemplateSyntaxError as exc:
        raise MemoError(f"{exc.filename or exc.name}:{exc.lineno}: error: template syntax: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise MemoError(f"{_template_location(exc, templates_dir)}: error: template: {exc.message}") from None
    unplaced = sorted(set(doc.charts) - set(doc.chart_numbers))
    if unplaced and template == "memo.html.j2":
        raise MemoError(f"error: charts never placed in the templates: {', '.join(unplaced)}")
    html = refs.resolve(html)
    if page == "memo.html":
        html = _unlink_missing_rows(html)
    return _before_body_end(html, str(helpers.provenance_container()))


def _unlink_missing_rows(html: str) -> str:
    """A number whose figure or input has no row on the page (a project's appendix may leave some out) stays
    focusable and described, but links nowhere."""
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    return re.sub(
        r'<a class="fig-link" href="#([^"]+)"',
        lambda m: m.group(0) if m.group(1) in ids else '<a class="fig-link" tabindex="0"',
        html,
    )


def _before_body_end(html: str, block: str) -> str:
    end = html.rfind("</body>")
    return html + block if end < 0 else html[:end] + block + html[end:]


def _template_location(exc: BaseException, templates_dir: Path) -> str:
    """file:line of the innermost template frame in a Jinja traceback, the file as the project names it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    return f"{xref.shown(Path(frames[-1].filename), templates_dir)}:{frames[-1].lineno}" if frames else "templates"


__all__ = ["Document", "escape", "load_content", "render_html"]
