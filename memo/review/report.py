"""How a diff is shown: a terminal summary (figures first), a self-contained review page and changes.json."""

from __future__ import annotations

import base64
import json
import shutil
from html import escape
from pathlib import Path
from typing import Any

from memo import format as fmt
from memo.outputs import write_outputs
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


def summary(changes: Changes, out_dir: Path | None) -> str:
    old, new = changes.old.label, changes.new.label
    if not changes.any:
        return f"memo diff: no differences between {old} and {new}\n"
    lines = [f"memo diff: {old} \u2192 {new}", ""]
    if changes.figures:
        lines.append(f"Figures changed ({len(changes.figures)})")
        rows = [("figure", "old", "new", "change", "caused by")]
        rows += [
            (f.name, f.text("old"), f.text("new"), f.change_text(), ", ".join(f.caused_by)) for f in changes.figures
        ]
        lines += _table(rows)
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
        "differences": changes.any,
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
    }


def _guard_json(change: GuardChange) -> dict[str, Any]:
    return {"sentence": change.sentence, "old": list(change.old), "new": list(change.new)}


def _page_image_name(change: Any, kind: str) -> str:
    number = change.new if change.new is not None else change.old
    return f"pages/page-{number:03d}-{change.status}-{kind}.png"


# ---------------------------------------------------------------- index.html

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2933;margin:0;background:#f5f7fa}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:2px solid #1f2933;padding-bottom:4px}
.meta{color:#52606d;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
del{background:#fde2dd;color:#8a1c0a;text-decoration:line-through}ins{background:#d7f5e3;color:#0b5e2f;text-decoration:none}
.sentence{background:#fff;border-left:3px solid #0072b2;padding:8px 12px;margin:8px 0}
.side{display:grid;grid-template-columns:1fr 1fr;gap:12px}.side>div{background:#fff;padding:8px;border:1px solid #e4e7eb}
.side svg,.side img{max-width:100%;height:auto;display:block}
.side svg text{font-family:"IBM Plex Sans",system-ui,sans-serif}
.pages{display:grid;grid-template-columns:repeat(3,1fr);gap:12px}.pages figure{margin:0;background:#fff;padding:6px;border:1px solid #e4e7eb}
.pages img{width:100%;display:block}figcaption{font-size:12px;color:#52606d}
.none{color:#52606d}
@media (max-width:800px){.side,.pages{grid-template-columns:1fr}}
"""


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def index_html(changes: Changes) -> str:
    e = escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        f"<title>memo diff: {e(changes.old.label)} \u2192 {e(changes.new.label)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>What changed</h1><p class='meta'>{e(changes.old.label)} \u2192 {e(changes.new.label)}</p>",
    ]
    if not changes.any:
        parts.append("<p>No differences.</p></main></body></html>")
        return "".join(parts)
    parts.append(f"<h2>Figures changed ({len(changes.figures)})</h2>")
    if changes.figures:
        parts.append("<table><thead><tr><th>Figure</th><th class='num'>Old</th><th class='num'>New</th>")
        parts.append("<th class='num'>Change</th><th>Caused by</th></tr></thead><tbody>")
        for f in changes.figures:
            parts.append(
                f"<tr><td>{e(f.label)}<br><code>{e(f.name)}</code></td><td class='num'>{e(f.text('old'))}</td>"
                f"<td class='num'>{e(f.text('new'))}</td><td class='num'>{e(f.change_text())}</td>"
                f"<td>{'<br>'.join(f'<code>{e(c)}</code>' for c in f.caused_by) or '<span class=none>tool or formula</span>'}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p class='none'>No figure changed.</p>")
    parts.append(f"<h2>Inputs changed ({len(changes.inputs)})</h2>")
    if changes.inputs:
        flagged = any(c.get("sourced_changed") for c in changes.inputs)
        parts.append("<table><thead><tr><th>Input</th><th class='num'>Old</th><th class='num'>New</th>")
        parts.append(("<th>Source</th>" if flagged else "") + "</tr></thead><tbody>")
        for c in changes.inputs:
            note = f"<td>{e(SOURCED_CHANGED) if c.get('sourced_changed') else ''}</td>" if flagged else ""
            parts.append(
                f"<tr><td><code>{e(c['name'])}</code></td><td class='num'>{e(_input_text(c['old'], c['unit']))}</td>"
                f"<td class='num'>{e(_input_text(c['new'], c['unit']))}</td>{note}</tr>"
            )
        parts.append("</tbody></table>")
    parts.append(f"<h2>Claims changed ({len(changes.claims)})</h2>")
    if changes.claims:
        parts.append("<table><thead><tr><th>Claim</th><th>Status</th><th>Old</th><th>New</th></tr></thead><tbody>")
        for c in changes.claims:
            cells = [
                "<span class='none'>absent</span>"
                if side is None
                else f"<strong>{e(_verdict(side['result']))}</strong><br><code>{e(str(side['holds']))}</code>"
                for side in (c["old"], c["new"])
            ]
            parts.append(
                f"<tr><td>{e(str(c['text']))}<br><code>{e(str(c['id']))}</code></td><td>{e(c['status'])}</td>"
                f"<td>{cells[0]}</td><td>{cells[1]}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p class='none'>No claim changed verdict or expression.</p>")
    if changes.tool_changed:
        parts.append("<h2>Tools changed</h2><table><tbody>")
        for k, (a, b) in changes.tool_changed.items():
            parts.append(f"<tr><td><code>{e(k)}</code></td><td>{e(a)}</td><td>{e(b)}</td></tr>")
        parts.append("</tbody></table>")
    count = sum(len(v) for v in changes.prose.values())
    parts.append(f"<h2>Prose changed ({count} sentence{'s' if count != 1 else ''})</h2>")
    for section, sentences in changes.prose.items():
        parts.append(f"<h3>{e(section)}</h3>")
        for sentence in sentences:
            words = " ".join(
                e(t) if op == "equal" else f"<del>{e(t)}</del>" if op == "delete" else f"<ins>{e(t)}</ins>"
                for op, t in sentence.words
            )
            parts.append(f"<div class='sentence'>{words}</div>")
    count = sum(len(v) for v in changes.guards.values())
    parts.append(f"<h2>Sentences whose guard changed ({count})</h2>")
    if not count:
        parts.append("<p class='none'>No sentence kept its words while its guard changed.</p>")
    for section, guarded in changes.guards.items():
        parts.append(f"<h3>{e(section)}</h3>")
        for change in guarded:
            rows = "".join(
                f"<tr><td><del>{e(_guard_text(a))}</del></td><td><ins>{e(_guard_text(b))}</ins></td></tr>"
                for a, b in change.pairs()
            )
            parts.append(
                f"<div class='sentence'>{e(change.sentence)}<table><thead><tr><th>Old guard</th><th>New guard</th>"
                f"</tr></thead><tbody>{rows}</tbody></table></div>"
            )
    parts.append(f"<h2>Charts changed ({len(changes.charts)})</h2>")
    for chart in changes.charts:
        parts.append(f"<h3>{e(chart['title'])} <code>{e(chart['name'])}</code></h3><div class='side'>")
        for side in ("old", "new"):
            svg = chart[f"{side}_svg"]
            body = scope_ids(svg, f"{side}-{chart['name']}") if svg else "<p class='none'>absent</p>"
            parts.append(f"<div><p class='meta'>{side}</p>{body}</div>")
        parts.append("</div>")
    pages = changes.pages
    if pages is not None:
        parts.append(f"<h2>PDF pages changed ({len(pages.changes)} of {pages.new_pages})</h2>")
        for change in pages.changes:
            parts.append(f"<h3>{e(_page_label(change))}</h3><div class='pages'>")
            for kind in ("old", "new", "highlighted"):
                if kind in change.images:
                    parts.append(
                        f"<figure><img alt='{kind} page' src='{_data_uri(change.images[kind])}'>"
                        f"<figcaption>{kind}</figcaption></figure>"
                    )
            parts.append("</div>")
    parts.append("</main></body></html>")
    return "".join(parts)


def write(changes: Changes, out_dir: Path) -> None:
    files: dict[str, bytes] = {
        "index.html": index_html(changes).encode("utf-8"),
        "changes.json": (json.dumps(changes_json(changes), indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    }
    if changes.pages is not None:
        for change in changes.pages.changes:
            for kind, png in change.images.items():
                files[_page_image_name(change, kind)] = png
    stale = out_dir / "pages"
    if (out_dir / "changes.json").is_file() and stale.is_dir():
        shutil.rmtree(stale)  # images of an earlier diff in the same folder
    write_outputs(out_dir, files)
