"""Render stage: the Jinja templates write the memo around the model's figures, as one HTML document.

Every number reaches the page through ``fig()`` or a formatting filter, so it is the model's own figure, formatted
one way everywhere, and (in the HTML) carries its provenance: label, formula and inputs, on hover or focus.
Autoescaping is on and an undefined name fails the build.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from memo import fonts
from memo import format as fmt
from memo.cache import Cache, code_digest
from memo.cache import key as cache_key
from memo.charts import Chart
from memo.errors import MemoError
from memo.load import load_file
from memo.model import Check, Figure, reach
from memo.validate import Assumptions, Input

DAGGER = "\u2020"


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
    chart_numbers: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.inputs is None:
            self.inputs = self.assumptions.inputs


def load_content(templates_dir: Path) -> dict[str, Any]:
    """The qualitative content (ladder, competition matrix) kept as YAML beside the templates."""
    content_dir = templates_dir / "content"
    return {path.stem: load_file(path).data for path in sorted(content_dir.glob("*.yaml"))}


class _Helpers:
    """The functions templates call. Kept in one place so the lint of templates knows what is allowed."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.footnotes = 0

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
                lines.append(f"{ref} = {fmt.by_unit(item.number, item.unit)} (input)")
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
        mark = Markup(f'<sup class="est">{DAGGER}</sup>') if figure.estimate else Markup("")
        return Markup('<span class="fig" tabindex="0" data-figure="{}" data-tip="{}">{}{}</span>').format(
            name, self.tip(figure), text, mark
        )

    def inp(self, name: str) -> Markup:
        """An input as the memo prints it, with its note as the tip."""
        if name not in self.doc.inputs:
            raise jinja2.UndefinedError(f"no input named {name!r}")
        item = self.doc.inputs[name]
        mark = Markup(f'<sup class="est">{DAGGER}</sup>') if item.estimate else Markup("")
        tip = f"{name} (input{', estimate' if item.estimate else ''})" + (f"\n{item.note}" if item.note else "")
        return Markup('<span class="fig" tabindex="0" data-input="{}" data-tip="{}">{}{}</span>').format(
            name, tip, fmt.by_unit(item.number, item.unit), mark
        )

    def val(self, name: str, part: str = "value") -> float:
        """A figure's raw value, for conditions in the prose ("below OpenRouter's")."""
        value = getattr(self._figure(name), part)
        if value is None:
            raise jinja2.UndefinedError(f"figure {name!r} has no {part}")
        return value

    def source_note(self, input_name: str) -> Markup:
        """A footnote citing where an input comes from."""
        item: Input = self.doc.inputs[input_name]
        if item.source is None:
            return self.note(Markup("Estimate, not from the source: {}").format(item.note or ""))
        source = self.doc.assumptions.sources[item.source.ref]
        return self.note(
            Markup("{} ({}), \u201c{}\u201d, {}; figure dated {}.").format(
                source.author, source.date[:4], source.title, item.source.where, item.source.date
            )
        )

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

    def checks_for(self, name: str) -> list[Check]:
        return [c for c in self.doc.checks if c.figure == name]

    def differences(self) -> list[Check]:
        return [c for c in self.doc.checks if not c.holds]

    def stated(self, check: Check) -> str:
        figure = self.doc.figures[check.figure]
        parts = check.stated
        if "value" in parts:
            return fmt.by_unit(parts["value"], figure.unit)
        if "below" in parts:
            return "below " + fmt.by_unit(parts["below"], figure.unit)
        return fmt.span(parts["low"], parts["high"], figure.unit)

    def modelled(self, check: Check) -> str:
        figure = self.doc.figures[check.figure]
        parts = check.model
        if "value" in parts:
            return fmt.by_unit(parts["value"], figure.unit)
        return fmt.span(parts["low"], parts["high"], figure.unit)

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
        if result.holds:
            return Markup('<span class="claim" data-claim="{}">{}</span>').format(claim_id, body)
        return Markup(
            '<span class="claim failing" data-claim="{}" tabindex="0" data-tip="{}">{}'
            '<sup class="claim-flag">claim fails</sup></span>'
        ).format(claim_id, f"This claim no longer holds: {result.claim.text}\n{result.explain()}", body)

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
        from memo.schema import INPUTS

        return INPUTS[name].label

    def value_of(self, value: float, name: str) -> str:
        """A value in the unit of an input or figure, for tables of computed variants (grids, scenarios)."""
        unit = self.doc.figures[name].unit if name in self.doc.figures else self.doc.inputs[name].unit
        return fmt.by_unit(value, unit)

    def estimates(self) -> list[Input]:
        return [item for item in self.doc.assumptions.inputs.values() if item.estimate]


def _breakable(name: str) -> Markup:
    """A dotted name that may wrap after its dots and underscores (narrow table columns)."""
    return Markup("<wbr>").join(escape(part) for part in re.split(r"(?<=[._])", name))


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept in the build cache so that a fresh process (and each rebuild in the live
    preview) does not compile them again. Entries are verified like every cache entry, and Jinja checks each one
    against its template's source; memo's code digest in the key covers the environment's options."""

    def __init__(self, store: Cache) -> None:
        self.store = store

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        compiled = self.store.get("template", self._key(bucket))
        if compiled is not None:
            self.store.hits.append("template")
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:  # Jinja calls this after a miss
        self.store.misses.append("template")
        self.store.put("template", self._key(bucket), bucket.bytecode_to_string())

    @staticmethod
    def _key(bucket: jinja2.bccache.Bucket) -> str:
        return cache_key(bucket.key, bucket.checksum, jinja2.__version__, code_digest())


def environment(templates_dir: Path, store: Cache | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        bytecode_cache=CompiledTemplates(store) if store is not None and store.root is not None else None,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        breakable=_breakable,
        money=fmt.money,
        multiple=fmt.multiple,
        pct=fmt.pct,
        count=fmt.count,
        ratio=fmt.ratio,
        date=fmt.date,
    )
    return env


CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'"
)


def absolute(base_url: str | None, path: str) -> str | None:
    return None if base_url is None else base_url.rstrip("/") + "/" + path


def render_html(
    templates_dir: Path,
    doc: Document,
    template: str = "memo.html.j2",
    page: str = "memo.html",
    cache: Cache | None = None,
) -> str:
    helpers = _Helpers(doc)
    env = environment(templates_dir, cache)
    env.globals.update(
        fig=helpers.fig,
        inp=helpers.inp,
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
        css=Markup(fonts.font_face_css() + doc.css),
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
        raise MemoError(f"{_template_location(exc)}: error: template: {exc.message}") from None
    unplaced = sorted(set(doc.charts) - set(doc.chart_numbers))
    if unplaced and template == "memo.html.j2":
        raise MemoError(f"error: charts never placed in the templates: {', '.join(unplaced)}")
    return html


def _template_location(exc: BaseException) -> str:
    """file:line of the innermost template frame in a Jinja traceback."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "templates"


__all__ = ["Document", "escape", "load_content", "render_html"]
