"""The privacy ladder as a diagram: who can read, link or keep a prompt at each rung, and where Venice's modes sit.

The diagram is laid out in pixels (both scales map one data unit to one pixel), with text widths measured from
the IBM Plex Sans font file, so the columns fit their labels whatever the content file says.
"""

from functools import cache
from typing import Any

from fontTools.ttLib import TTFont

from memo import fonts
from memo.charts import GREY, INK, ORANGE, WIDTH, ChartData, nominal, quantitative

TITLE = "The privacy ladder: who can see, link or keep a prompt"
SOURCE = (
    "Source: Liberman (2026) for the rungs and Venice's modes; cells are the memo's reading. "
    "* The source text breaks off during rung 3, so these rungs rest on its summary."
)

PLOT_WIDTH = WIDTH + 92  # the diagram uses the full text column (620 px with the padding)
ROW = 26  # px per rung
CELL_GAP = 3
TEXT_SIZE = 10.5
HEAD_SIZE = 10.5
LINE = 13  # px per header line
SECTION = 18  # px for a section label ("Off the ladder", "The ladder")
LIGHT_GREY = "#E4E7EB"
MUTED = "#52606D"  # 5.2:1 on LIGHT_GREY
# Okabe & Ito's vermillion and green, darkened until white words on them pass WCAG AA (5.3:1 each; the palette's
# own give 3.9:1 and 3.4:1); ink on its orange gives 6.8:1.
EXPOSED = "#B34D00"
PROTECTED = "#007A5A"

# value in ladder.yaml -> (legend label, cell word, fill, text colour)
VALUES = {
    "exposed": ("Exposed: yes, it can happen", "Exposed", EXPOSED, "white"),
    "partial": ("Partial: only a policy or contract prevents it", "Partial", ORANGE, INK),
    "protected": ("Protected: no, the design prevents it", "Protected", PROTECTED, "white"),
    "n/a": ("Not applicable", "n/a", None, MUTED),
}


@cache
def _metrics() -> tuple[dict[int, str], dict[str, tuple[int, int]], int]:
    path = next(f.path for f in fonts.font_files() if f.family == fonts.SANS and not f.italic)
    font = TTFont(path)
    return font.getBestCmap(), font["hmtx"].metrics, font["head"].unitsPerEm


def _width(text: str, size: float, bold: bool = False) -> float:
    cmap, advances, units = _metrics()
    total = sum(advances[cmap.get(ord(ch), ".notdef")][0] for ch in text) * size / units
    return total * (1.06 if bold else 1.0)  # semibold sets a little wider than the default instance


def _wrap(text: str, size: float, limit: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and _width(f"{lines[-1]} {word}", size) <= limit:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def build(d: ChartData) -> tuple[dict[str, Any], str]:
    ladder = d.content["ladder"]
    columns = ladder["columns"]
    rungs = sorted(ladder["rungs"], key=lambda rung: int(rung["level"]), reverse=True)
    off = ladder["off_ladder"]

    def name_of(rung: dict) -> str:
        return rung["name"] + ("" if rung.get("covered", True) else "*")

    # Horizontal layout, left to right: level, name, the cells, Venice's mode.
    level_right = max(_width(rung["level"], TEXT_SIZE, bold=True) for rung in rungs)
    name_x = level_right + 7
    name_w = max(_width(text, TEXT_SIZE) for text in [off["name"], *map(name_of, rungs)])
    modes = [rung["venice_mode"] for rung in rungs if rung.get("venice_mode")]
    mode_w = max(
        max(_width(mode, TEXT_SIZE, bold=True) for mode in modes),
        max(_width(word, HEAD_SIZE) for word in ("Venice", "mode")),
    )
    cells_x = name_x + name_w + 8
    mode_x = PLOT_WIDTH - mode_w
    cell_w = (mode_x - 10 - cells_x) / len(columns)

    # Vertical layout, top to bottom: headers, off-ladder row, the rungs.
    headers = [_wrap(column["label"], HEAD_SIZE, cell_w - CELL_GAP + 1) for column in columns]
    mode_header = _wrap("Venice mode", HEAD_SIZE, mode_w)
    head_h = max(len(lines) for lines in [*headers, mode_header]) * LINE + 6
    off_y = head_h + SECTION
    off_lines = _wrap(off["note"].split(". ")[0].rstrip(".") + ".", TEXT_SIZE, len(columns) * cell_w - CELL_GAP - 16)
    off_h = max(ROW, len(off_lines) * LINE + 8)
    ladder_y = off_y + off_h + SECTION
    height = ladder_y + len(rungs) * ROW

    cells: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []

    def text(
        x: float,
        y: float,
        value: str | list[str],
        align: str = "left",
        baseline: str = "middle",
        color: str = INK,
        weight: int = 400,
        size: float = TEXT_SIZE,
    ) -> None:
        if isinstance(value, list) and baseline == "middle":  # centre a block of lines on y
            y, baseline = y - len(value) * LINE / 2 + 1, "top"
        texts.append(
            {"x": x, "y": y, "text": value, "align": align, "baseline": baseline, "color": color}
            | {"weight": weight, "size": size}
        )

    # headers sit on a common bottom line; multi-line text is placed from its top
    for i, lines in enumerate(headers):
        center = cells_x + i * cell_w + (cell_w - CELL_GAP) / 2
        text(center, head_h - 4 - len(lines) * LINE, lines, "center", "top", size=HEAD_SIZE)
    text(mode_x, head_h - 4 - len(mode_header) * LINE, mode_header, "left", "top", size=HEAD_SIZE)
    text(0, off_y - SECTION / 2, "Off the ladder", color=MUTED, weight=600, size=HEAD_SIZE)
    bottom, top_rung = rungs[-1], rungs[0]
    text(
        0,
        ladder_y - SECTION / 2,
        f"The ladder, from least private ({bottom['level']}) to most private ({top_rung['level']})",
        color=MUTED,
        weight=600,
        size=HEAD_SIZE,
    )

    # The off-ladder row: one box across the cells, its note in words instead of cell values.
    text(name_x, off_y + off_h / 2, off["name"])
    span = {
        "x": cells_x,
        "x2": cells_x + len(columns) * cell_w - CELL_GAP,
        "y": off_y + CELL_GAP / 2,
        "y2": off_y + off_h - CELL_GAP / 2,
    }
    text(cells_x + 8, off_y + off_h / 2, off_lines if len(off_lines) > 1 else off_lines[0])

    for row, rung in enumerate(rungs):
        top = ladder_y + row * ROW
        middle = top + ROW / 2
        text(level_right, middle, rung["level"], "right", weight=600)
        text(name_x, middle, name_of(rung), color=INK if rung.get("covered", True) else MUTED)
        for i, column in enumerate(columns):
            value = rung["cells"][column["key"]]
            legend, word, _, ink = VALUES[value]
            left = cells_x + i * cell_w
            cells.append(
                {"x": left, "x2": left + cell_w - CELL_GAP, "y": top + CELL_GAP / 2, "y2": top + ROW - CELL_GAP / 2}
                | {"value": legend}
            )
            text(left + (cell_w - CELL_GAP) / 2, middle, word, "center", color=ink, size=HEAD_SIZE)
        if rung.get("venice_mode"):
            text(mode_x, middle, rung["venice_mode"], color=d.colors["blue"], weight=600)

    x = quantitative("x", axis=None, scale={"domain": [0, PLOT_WIDTH], "nice": False, "zero": False})
    y = quantitative("y", axis=None, scale={"domain": [0, height], "nice": False, "zero": False, "reverse": True})
    corners = {"x": x, "x2": {"field": "x2"}, "y": y, "y2": {"field": "y2"}}
    legend_order = [entry[0] for entry in VALUES.values()]
    fills = [entry[2] or LIGHT_GREY for entry in VALUES.values()]
    grid = {
        "data": {"values": cells},
        "mark": {"type": "rect"},
        "encoding": {
            **corners,
            "color": nominal(
                "value",
                title=None,
                scale={"domain": legend_order, "range": fills},
                legend={"orient": "bottom", "symbolType": "square", "columns": 2, "labelLimit": 0, "offset": 10},
            ),
        },
    }
    box = {
        "data": {"values": [span]},
        "mark": {"type": "rect", "fill": "white", "stroke": GREY, "strokeDash": [3, 2], "strokeWidth": 1},
        "encoding": corners,
    }

    def style(label: dict[str, Any]) -> tuple[str, str, int]:
        return label["align"], label["baseline"], label["weight"]

    # one text layer per style (mark properties cannot vary by row), in the order the styles first appear
    labels = [
        {
            "data": {"values": [label for label in texts if style(label) == (a, b, w)]},
            "mark": {"type": "text", "lineHeight": LINE, "align": a, "baseline": b, "fontWeight": w},
            "encoding": {
                "x": x,
                "y": y,
                "text": nominal("text"),
                "color": nominal("color", scale=None, legend=None),
                "size": quantitative("size", scale=None, legend=None),
            },
        }
        for a, b, w in dict.fromkeys(map(style, texts))
    ]
    chart = {"width": PLOT_WIDTH, "height": height, "layer": [grid, box, *labels]}

    placed = [f"{rung['venice_mode']} on rung {rung['level']}" for rung in reversed(rungs) if rung.get("venice_mode")]
    alt_text = (
        f"Diagram of the privacy ladder from rung {bottom['level']} ({bottom['name']}) to rung {top_rung['level']} "
        f"({top_rung['name']}), marking for each rung whether each of these is exposed, partial or protected: "
        + "; ".join(column["label"] for column in columns)
        + f". {off['name']} sits above the ladder. Venice's modes: {', '.join(placed)}."
    )
    return chart, alt_text
