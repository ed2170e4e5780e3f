"""The PDF's static font instances: HarfBuzz's (memo.fontinstance) against fontTools' (WeasyPrint's Font.clean)."""

from __future__ import annotations

import io
import random
import struct
from dataclasses import dataclass, field
from typing import Any

import pytest
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont

from memo import fontinstance, fonts


@dataclass
class FakeFont:
    """What Font.clean reads of a weasyprint.pdf.fonts.Font, without the Pango font behind it."""

    file_content: bytes
    weight: int
    font_size: float
    style: int = 0
    index: int = 0
    variations: dict[str, float] = field(default_factory=dict)
    missing: dict[int, int] = field(default_factory=dict)
    png: bool = False
    svg: bool = False
    colr: bool = False
    family: str = "test"

    @property
    def tables(self) -> set[str]:
        return set(TTFont(io.BytesIO(self.file_content), lazy=True).keys())

    def subset(self, to_unicode: dict[int, Any], hinting: bool) -> None:
        from weasyprint.pdf.fonts import Font

        Font._fonttools_subset(self, to_unicode, hinting)


def by_fonttools(font: FakeFont, to_unicode: dict[int, Any], hinting: bool) -> FakeFont:
    from weasyprint.pdf.fonts import Font

    Font.clean(font, to_unicode, hinting)
    return font


def outline(font: TTFont, gid: int) -> list[tuple[str, tuple[Any, ...]]]:
    glyphs = font.getGlyphSet()
    pen = DecomposingRecordingPen(glyphs)
    glyphs[font.getGlyphOrder()[gid]].draw(pen)
    return pen.value


def points(commands: list[tuple[str, tuple[Any, ...]]]) -> list[float]:
    return [value for _, args in commands for point in args for value in point]


def overlap_marked(font: TTFont, gid: int) -> bool | None:
    glyph = font["glyf"][font.getGlyphOrder()[gid]]
    if glyph.isComposite():
        return bool(glyph.components[0].flags & 0x0400)
    return bool(glyph.flags[0] & 0x40) if glyph.numberOfContours > 0 else None


def test_this_machine_instances_with_harfbuzz() -> None:
    # CI installs libharfbuzz-subset0 (HarfBuzz 6 or later), so the fast path is the one its builds take
    assert fonts.harfbuzz_libraries() is not None
    assert fonts.font_instancer().startswith("harfbuzz ")


@pytest.mark.parametrize("font_file", fonts.font_files(), ids=lambda f: f.path.name)
@pytest.mark.parametrize(("weight", "size", "hinting"), [(400, 12.75, False), (650, 9.0, True)])
def test_harfbuzz_instance_draws_what_fonttools_instance_draws(
    font_file: fonts.FontFile, weight: int, size: float, hinting: bool
) -> None:
    data = font_file.path.read_bytes()
    count = len(TTFont(io.BytesIO(data), lazy=True).getGlyphOrder())
    gids = {gid: None for gid in [0, *random.Random(font_file.path.name).sample(range(1, count), 120)]}
    fast = FakeFont(data, weight, size)
    assert fontinstance.clean(fast, gids, hinting)
    slow = by_fonttools(FakeFont(data, weight, size), gids, hinting)

    assert fast.variations == slow.variations  # the same axis locations
    mine, theirs = TTFont(io.BytesIO(fast.file_content)), TTFont(io.BytesIO(slow.file_content))
    assert "fvar" not in mine and "gvar" not in mine
    assert mine["maxp"].numGlyphs == theirs["maxp"].numGlyphs
    for gid in gids:
        name, their_name = mine.getGlyphOrder()[gid], theirs.getGlyphOrder()[gid]
        assert mine["hmtx"][name][0] == theirs["hmtx"][their_name][0], gid  # advance widths exactly
        ours, reference = outline(mine, gid), outline(theirs, gid)
        assert [op for op, _ in ours] == [op for op, _ in reference], gid
        assert max((abs(a - b) for a, b in zip(points(ours), points(reference), strict=True)), default=0) <= 1
        assert overlap_marked(mine, gid) == overlap_marked(theirs, gid), gid
    assert ("fpgm" in mine) == ("fpgm" in theirs)  # hinting kept or dropped alike


def checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}L", data)) & 0xFFFFFFFF


def test_marked_instance_keeps_valid_checksums() -> None:
    font_file = fonts.font_files()[0]
    font = FakeFont(font_file.path.read_bytes(), 400, 12)
    assert fontinstance.clean(font, {gid: None for gid in range(60)}, False)
    data = font.file_content
    assert checksum(data) == 0xB1B0AFBA  # the whole font, with head's checkSumAdjustment
    for at in range(12, 12 + 16 * struct.unpack_from(">H", data, 4)[0], 16):
        tag, stored, offset, length = struct.unpack_from(">4sLLL", data, at)
        body = bytearray(data[offset : offset + length])
        if tag == b"head":
            body[8:12] = b"\0\0\0\0"
        assert checksum(bytes(body)) == stored, tag


def test_colour_and_static_fonts_are_left_to_weasyprint() -> None:
    font_file = fonts.font_files()[0]
    colour = FakeFont(font_file.path.read_bytes(), 400, 12, colr=True)
    assert not fontinstance.clean(colour, {1: None}, False)
    assert colour.file_content == font_file.path.read_bytes() and not colour.variations
    static = by_fonttools(FakeFont(font_file.path.read_bytes(), 400, 12), {gid: None for gid in range(10)}, False)
    before = static.file_content
    assert not fontinstance.clean(static, {1: None}, False)
    assert static.file_content == before
