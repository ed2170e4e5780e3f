"""How a diff is shown: a terminal summary (figures first), a self-contained review page and changes.json.

The review page is the engine template memo/templates/review.html.j2, under the head every memo page shares.
"""

from __future__ import annotations

import base64
import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from memo import format as fmt
from memo import outdir, page
from memo.outputs import switch_whole
from memo.review.changes import Changes, FigureChange, GuardChange
from memo.review.words import WordChange, boxes_json
from memo.svg import scope_ids

if TYPE_CHECKING:
    from memo.review.annotate import SummaryJob

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
    if changes.pages is not None and changes.pages.words and changes.old.figures_data is None:
        lines += _text_lines(changes.pages.words)
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
        if has_diff_pdf(changes):
            lines.append(f"Annotated PDF: {out_dir / 'diff.pdf'}")
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


def _text_lines(word_changes: list[WordChange]) -> list[str]:
    """The text diff of two PDFs, per new page: each change in its context, a few per page."""
    by_page: dict[int, list[WordChange]] = {}
    for change in word_changes:
        by_page.setdefault(change.page, []).append(change)
    count = len(word_changes)
    pages = ", ".join(str(p) for p in by_page)
    lines = [
        f"Text changed: {count} change{'s' if count != 1 else ''} on page{'s' if len(by_page) != 1 else ''} {pages}"
    ]
    for number, found in by_page.items():
        for change in found[:3]:
            lines.append(f"  [page {number}] " + _inline_words(_in_context(change)))
        if len(found) > 3:
            lines.append(f"  [page {number}] ... and {len(found) - 3} more")
    lines.append("")
    return lines


def _in_context(change: WordChange) -> list[tuple[str, str]]:
    """A word change as the prose diff's (op, text) pairs, with the unchanged words either side."""
    words = [("equal", "..." + " ".join(change.before))] if change.before else []
    if change.old:
        words.append(("delete", change.old_text))
    if change.new:
        words.append(("insert", change.new_text))
    if change.after:
        words.append(("equal", " ".join(change.after) + "..."))
    return words


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
        "words": [_word_json(c, pages.sizes) for c in pages.words] if pages is not None else [],
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


def _word_json(change: WordChange, sizes: dict[int, tuple[float, float]]) -> dict[str, Any]:
    """A word change: its new page, the old page, the old and new text, and the boxes it is marked with on the new
    page (PDF points, origin at the bottom left, with the page's size): the new words, or where removed words were."""
    width, height = sizes.get(change.page, (0.0, 0.0))
    return {
        "page": change.page,
        "old_page": change.old_page,
        "kind": change.kind,
        "old": change.old_text,
        "new": change.new_text,
        "margin": change.margin,
        "boxes": boxes_json(change.boxes),
        "page_size": [round(width, 2), round(height, 2)],
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
        in_context=_in_context,
        diff_pdf=has_diff_pdf(changes),
        text_diff=changes.pages is not None and bool(changes.pages.words) and changes.old.figures_data is None,
    )


def has_diff_pdf(changes: Changes) -> bool:
    """Whether the review folder gets diff.pdf: there are differences and the new side has a PDF."""
    return changes.any and changes.new.pdf is not None


def checked_out(out_dir: Path, project_root: Path | None) -> Path:
    """The real review folder, once it is safe to write (:func:`memo.outdir.checked`): checked before the diff
    builds anything."""
    from memo.project import Project

    project = Project(project_root) if project_root is not None else None
    return outdir.checked(out_dir, "diff", "--out", outdir.guarded(project))


def write(changes: Changes, out_dir: Path, summary: SummaryJob | None = None) -> list[str]:
    """Switch the review folder to this diff's page, changes.json, page images and diff.pdf whole, replacing only
    what the previous diff wrote there, and return the files whose bytes changed. When the folder is inside a build
    folder (the default build/diff), that build's lock is held too, so that a build carrying it over never misses
    this diff."""
    files: dict[str, bytes] = {
        "index.html": index_html(changes).encode("utf-8"),
        "changes.json": (json.dumps(changes_json(changes), indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    }
    if changes.pages is not None:
        for change in changes.pages.changes:
            for kind, png in change.images.items():
                files[_page_image_name(change, kind)] = png
    if has_diff_pdf(changes):
        from memo.review.annotate import annotated

        files["diff.pdf"] = annotated(changes, summary)
    real = outdir.checked(out_dir, "diff", "--out")
    with ExitStack() as stack:
        if outdir.made_by(real.parent) == "build":
            stack.enter_context(outdir.locked(real.parent))
        stack.enter_context(outdir.locked(real))
        return switch_whole(real, files, "diff")
