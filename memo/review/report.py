"""How a diff is shown: a terminal summary (figures first), a self-contained review page and changes.json.

The review page is the engine template memo/templates/review.html.j2, under the head every memo page shares.
"""

from __future__ import annotations

import base64
import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from markupsafe import Markup

from memo import format as fmt
from memo import outdir, page
from memo.outputs import switch_whole
from memo.review.changes import Changes, FigureChange, GuardChange
from memo.svg import scope_ids

CHANGES_SCHEMA_VERSION = 1


def _input_text(entry: dict[str, Any] | None, unit: str) -> str:
    if entry is None:
        return "\u2014"
    if unit == "date":
        return str(entry["value"])
    shown = fmt.by_unit(entry["value"], unit)
    if "low" in entry:
        shown += f" ({fmt.span(entry['low'], entry['high'], unit)})"
    return shown


SOURCED_CHANGED = "sourced input changed: check the source"


def _verdict(result: Any) -> str:
    return "holds" if result is True else "fails" if result is False else str(result)


def _claim_line(claim: dict[str, Any]) -> str:
    """``id: holds -> fails`` and the like (with an arrow), for the terminal."""
    old, new, status = claim["old"], claim["new"], claim["status"]
    if status == "added":
        return f"{claim['id']}: added, {_verdict(new['result'])}: {new['holds']}"
    if status == "removed":
        return f"{claim['id']}: removed (it {'held' if old['result'] is True else 'failed'})"
    if status == "verdict changed":
        line = f"{claim['id']}: {_verdict(old['result'])} \u2192 {_verdict(new['result'])}"
        if old["holds"] != new["holds"]:
            line += f" (expression {old['holds']} \u2192 {new['holds']})"
        return line
    return f"{claim['id']}: expression changed, still {_verdict(new['result'])}: {old['holds']} \u2192 {new['holds']}"


def _shorten(text: str) -> str:
    return text if len(text) <= 220 else text[:217] + "..."


def _page_label(change: Any) -> str:
    if change.status == "inserted":
        return f"new page {change.new} inserted"
    if change.status == "removed":
        return f"old page {change.old} removed"
    return f"page {change.new}" if change.old == change.new else f"old page {change.old} \u2192 new page {change.new}"


# ---------------------------------------------------------------- terminal


def summary(changes: Changes, out_dir: Path | None, strict: bool = False) -> str:
    old, new = changes.old.label, changes.new.label
    hidden = changes.hidden_figures
    if not changes.differs(strict) and not hidden:
        return f"memo diff: no differences between {old} and {new}\n"
    if not changes.differs(strict):
        lines = [f"memo diff: no differences between {old} and {new} at display precision", ""]
    else:
        lines = [f"memo diff: {old} \u2192 {new}", ""]
    shown = changes.shown_figures
    if shown:
        lines.append(f"Figures changed ({len(shown)})")
        lines += _figure_rows(shown)
        lines.append("")
    if hidden:
        counted = "counted, as --strict asks" if strict else "not counted in the exit status; --strict counts them"
        lines.append(f"Figures changed below display precision ({len(hidden)}): {counted}")
        lines += _figure_rows(hidden, exact=True)
        lines.append("")
    if changes.inputs:
        lines.append(f"Inputs changed ({len(changes.inputs)})")
        lines += _table(
            [
                (c["name"], _input_text(c["old"], c["unit"]), "\u2192", _input_text(c["new"], c["unit"]))
                for c in changes.inputs
            ]
        )
        lines += [f"  {c['name']}: {SOURCED_CHANGED}" for c in changes.inputs if c.get("sourced_changed")]
        lines.append("")
    if changes.claims:
        lines.append(f"Claims changed ({len(changes.claims)})")
        lines += [f"  {_claim_line(c)}" for c in changes.claims]
        lines.append("")
    if changes.prose:
        count = sum(len(v) for v in changes.prose.values())
        lines.append(f"Prose changed: {count} sentence{'s' if count != 1 else ''} in {', '.join(changes.prose)}")
        for section, sentences in changes.prose.items():
            for sentence in sentences[:3]:
                lines.append(f"  [{section}] " + _inline_words(sentence.words))
            if len(sentences) > 3:
                lines.append(f"  [{section}] ... and {len(sentences) - 3} more")
        lines.append("")
    if changes.guards:
        count = sum(len(v) for v in changes.guards.values())
        lines.append(f"Sentences whose guard changed ({count})")
        for section, guarded in changes.guards.items():
            for change in guarded[:3]:
                lines.append(f"  [{section}] " + _shorten(change.sentence))
                lines += [f"      {_guard_text(a)} \u2192 {_guard_text(b)}" for a, b in change.pairs()]
            if len(guarded) > 3:
                lines.append(f"  [{section}] ... and {len(guarded) - 3} more")
        lines.append("")
    if changes.charts:
        lines.append(f"Charts changed ({len(changes.charts)}): " + ", ".join(c["name"] for c in changes.charts))
        lines.append("")
    if changes.pages is not None and changes.pages.changes:
        report = changes.pages
        labels = ", ".join(_page_label(c) for c in report.changes)
        lines.append(f"PDF pages changed ({len(report.changes)} of {report.new_pages}): {labels}")
        lines.append("")
    if changes.tool_changed:
        lines.append("Tools changed: " + ", ".join(f"{k} {a} \u2192 {b}" for k, (a, b) in changes.tool_changed.items()))
        lines.append("")
    if out_dir is not None:
        lines.append(f"Review page: {out_dir / 'index.html'}")
    return "\n".join(lines) + "\n"


def _figure_rows(figures: list[FigureChange], exact: bool = False) -> list[str]:
    """One row per figure; ``exact`` shows the unrounded values, for changes the memo's precision hides."""
    rows = [("figure", "old", "new", "change", "caused by")]
    for f in figures:
        texts = f.text("old"), f.text("new"), f.change_text()
        if exact and f.old is not None and f.new is not None:
            texts = repr(f.old["value"]), repr(f.new["value"]), f"{f.new['value'] - f.old['value']:+.2e}"
        rows.append((f.name, *texts, ", ".join(f.caused_by) or "tool or formula"))
    return _table(rows)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def _inline_words(words: list[tuple[str, str]]) -> str:
    parts = []
    for op, text in words:
        parts.append(text if op == "equal" else f"[-{text}-]" if op == "delete" else f"{{+{text}+}}")
    return _shorten(" ".join(parts))


def _guard_text(guard: str | None) -> str:
    return "(no guard)" if guard is None else guard


# ---------------------------------------------------------------- changes.json


def changes_json(changes: Changes) -> dict[str, Any]:
    def side(s: Any) -> dict[str, Any]:
        build = (s.figures_data or {}).get("build", {})
        return {"label": s.label, "inputs_sha256": build.get("inputs_sha256"), "versions": build.get("versions")}

    pages = changes.pages
    return {
        "schema_version": CHANGES_SCHEMA_VERSION,
        "differences": changes.any,  # at display precision; "differences_strict" also counts the changes below it
        "differences_strict": changes.differs(strict=True),
        "old": side(changes.old),
        "new": side(changes.new),
        "tools_changed": {k: {"old": a, "new": b} for k, (a, b) in changes.tool_changed.items()},
        "inputs": changes.inputs,
        "figures": [_figure_json(f) for f in changes.figures],
        "claims": changes.claims,
        "prose": {
            section: [{"old": s.old, "new": s.new, "words": [list(w) for w in s.words]} for s in sentences]
            for section, sentences in changes.prose.items()
        },
        "guards": {section: [_guard_json(g) for g in guarded] for section, guarded in changes.guards.items()},
        "charts": [{k: c[k] for k in ("name", "title", "status", "figures")} for c in changes.charts],
        "pages": None
        if pages is None
        else {
            "old_pages": pages.old_pages,
            "new_pages": pages.new_pages,
            "alignment": [list(p) for p in pages.pairs],
            "changed": [
                {
                    "status": c.status,
                    "old": c.old,
                    "new": c.new,
                    "boxes": [list(b) for b in c.boxes],
                    "images": {kind: _page_image_name(c, kind) for kind in c.images},
                }
                for c in pages.changes
            ],
        },
    }


def _figure_json(f: FigureChange) -> dict[str, Any]:
    return {
        "name": f.name,
        "label": f.label,
        "unit": f.unit,
        "status": f.status,
        "old": f.old,
        "new": f.new,
        "absolute_change": f.absolute,
        "relative_change": f.relative,
        "old_text": f.text("old"),
        "new_text": f.text("new"),
        "change_text": f.change_text(),
        "caused_by": f.caused_by,
        "below_display_precision": not f.shown,
    }


def _guard_json(change: GuardChange) -> dict[str, Any]:
    return {"sentence": change.sentence, "old": list(change.old), "new": list(change.new)}


def _page_image_name(change: Any, kind: str) -> str:
    number = change.new if change.new is not None else change.old
    return f"pages/page-{number:03d}-{change.status}-{kind}.png"


# ---------------------------------------------------------------- index.html

# A page with no script: inline styles, and the PDF pages as data: images.
CSP = page.policy(style=[page.INLINE], img=[page.DATA])


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _chart_svg(chart: dict[str, Any], side: str) -> Markup:
    """One side's SVG of a chart (a build's own output), its ids scoped so that the two sides never share one."""
    return Markup(scope_ids(chart[f"{side}_svg"], f"{side}-{chart['name']}"))


def index_html(changes: Changes) -> str:
    return page.render(
        "review.html.j2",
        title=f"memo diff: {changes.old.label} \u2192 {changes.new.label}",
        csp=CSP,
        changes=changes,
        sourced_changed=SOURCED_CHANGED,
        input_text=_input_text,
        verdict=_verdict,
        guard_text=_guard_text,
        page_label=_page_label,
        chart_svg=_chart_svg,
        data_uri=_data_uri,
    )


def checked_out(out_dir: Path, project_root: Path | None) -> Path:
    """The real review folder, once it is safe to write (:func:`memo.outdir.checked`): checked before the diff
    builds anything."""
    from memo.project import Project

    project = Project(project_root) if project_root is not None else None
    return outdir.checked(out_dir, "diff", "--out", outdir.guarded(project))


def write(changes: Changes, out_dir: Path) -> None:
    """Switch the review folder to this diff's page, changes.json and page images whole, replacing only what the
    previous diff wrote there. When the folder is inside a build folder (the default build/diff), that build's
    lock is held too, so that a build carrying it over never misses this diff."""
    files: dict[str, bytes] = {
        "index.html": index_html(changes).encode("utf-8"),
        "changes.json": (json.dumps(changes_json(changes), indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    }
    if changes.pages is not None:
        for change in changes.pages.changes:
            for kind, png in change.images.items():
                files[_page_image_name(change, kind)] = png
    real = outdir.checked(out_dir, "diff", "--out")
    with ExitStack() as stack:
        if outdir.made_by(real.parent) == "build":
            stack.enter_context(outdir.locked(real.parent))
        stack.enter_context(outdir.locked(real))
        switch_whole(real, files, "diff")
