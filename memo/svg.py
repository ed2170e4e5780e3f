"""SVG ids: vl-convert numbers them per process; memo renames them per chart."""

from __future__ import annotations

import re

_ID = re.compile(r'\bid="([^"]+)"')


def scope_ids(svg: str, prefix: str) -> str:
    """Rename an SVG's ids to PREFIX-1, PREFIX-2, ... and every reference to them. vl-convert numbers ids per
    process, so this keeps output bytes independent of history, and ids unique when several SVGs (charts, or the
    old and new copies of one in a review) share a page."""
    mapping = {old: f"{prefix}-{i}" for i, old in enumerate(dict.fromkeys(_ID.findall(svg)), start=1)}
    if not mapping:
        return svg

    def swap(match: re.Match[str]) -> str:
        return match.group(0).replace(match.group(1), mapping[match.group(1)])

    svg = _ID.sub(swap, svg)
    svg = re.sub(r'(aria-labelledby=")([^"]+)', lambda m: m.group(1) + mapping.get(m.group(2), m.group(2)), svg)
    return re.sub(r"(url\(#|href=\"#)([^)\"]+)", lambda m: m.group(1) + mapping.get(m.group(2), m.group(2)), svg)
