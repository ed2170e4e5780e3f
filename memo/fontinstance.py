"""Static instances of the variable fonts the PDF embeds, made by HarfBuzz's subsetter in one pass.

WeasyPrint's ``Font.clean`` subsets a font with HarfBuzz and then turns the subset into a static instance with
fontTools' instancer, which is pure Python: about a tenth of a cold build's PDF stage for the memo's four font files.
HarfBuzz 6.0 and later can pin a font's axes while it subsets, in milliseconds. This module does what ``clean`` does
for a variable font (the same axis locations, the same two subset passes, the same dropped tables) with the axes
pinned in the first pass. The outlines match fontTools' instance to within half a font unit (rounding) and the
advance widths exactly; ``tests/test_pdf_fonts.py`` checks that for every font the memo embeds.

``clean`` returns False when it does not apply (no pinning HarfBuzz, not a variable font, a colour font), and the
caller runs WeasyPrint's own.
"""

from __future__ import annotations

import struct
from functools import cache
from itertools import pairwise
from typing import Any

from memo.fonts import harfbuzz_libraries

_DECLARATIONS = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
typedef uint32_t hb_tag_t;
typedef uint32_t hb_codepoint_t;
hb_blob_t *hb_blob_create(const char *data, unsigned int length, int mode, void *user_data, void *destroy);
void hb_blob_destroy(hb_blob_t *blob);
const char *hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create(hb_blob_t *blob, unsigned int index);
void hb_face_destroy(hb_face_t *face);
hb_blob_t *hb_face_reference_blob(hb_face_t *face);
hb_tag_t hb_tag_from_string(const char *str, int len);
void hb_set_add(hb_set_t *set, hb_codepoint_t codepoint);
void hb_set_add_range(hb_set_t *set, hb_codepoint_t first, hb_codepoint_t last);
hb_subset_input_t *hb_subset_input_create_or_fail(void);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_set_t *hb_subset_input_glyph_set(hb_subset_input_t *input);
hb_set_t *hb_subset_input_set(hb_subset_input_t *input, int set_type);
void hb_subset_input_set_flags(hb_subset_input_t *input, unsigned value);
int hb_subset_input_pin_axis_location(hb_subset_input_t *input, hb_face_t *face, hb_tag_t tag, float value);
int hb_subset_input_pin_axis_to_default(hb_subset_input_t *input, hb_face_t *face, hb_tag_t tag);
hb_face_t *hb_subset_or_fail(hb_face_t *source, const hb_subset_input_t *input);
"""

# hb-subset.h
_NO_HINTING, _RETAIN_GIDS, _DESUBROUTINIZE, _PASSTHROUGH_UNRECOGNIZED, _NOTDEF_OUTLINE = 0x1, 0x2, 0x8, 0x20, 0x40
_DROP_TABLE_TAG = 3
_OVERLAP_SIMPLE, _OVERLAP_COMPOUND = 0x40, 0x0400  # glyf flags
_READONLY = 1
# the tables WeasyPrint's HarfBuzz subset drops (pdf/fonts.py, Font._harfbuzz_subset)
_DROPPED = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH", b"PCLT", b"SVG ")


@cache
def _harfbuzz() -> tuple[Any, Any, Any] | None:
    """cffi, libharfbuzz and libharfbuzz-subset, when the subsetter can pin axes; else None."""
    names = harfbuzz_libraries()
    if names is None:
        return None
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(_DECLARATIONS)
    return ffi, ffi.dlopen(names[0]), ffi.dlopen(names[1])


def clean(font: Any, to_unicode: dict[int, Any], hinting: bool) -> bool:
    """``font.clean(to_unicode, hinting)`` for a variable font (a weasyprint.pdf.fonts.Font), by HarfBuzz alone;
    False, with ``font`` untouched, when HarfBuzz cannot do it here."""
    libraries = _harfbuzz()
    if libraries is None or not to_unicode or "fvar" not in font.tables or font.png or font.svg or font.colr:
        return False
    axes = _axes(font.file_content, font.index)
    locations = _locations(font, axes)
    pins = {axis: locations.get(axis) for axis in axes}  # None: the axis's default
    instance = _subset(libraries, font.file_content, font.index, to_unicode, hinting, bool(font.missing), pins)
    if instance is None:
        return False
    font.variations = locations | {axis: None for axis in axes if axis not in locations}  # as fontTools leaves it
    font.file_content = _overlap_flags(instance)
    return True


def _axes(data: bytes, index: int) -> dict[str, Any]:
    from io import BytesIO

    from fontTools.ttLib import TTFont

    return {axis.axisTag: axis for axis in TTFont(BytesIO(data), fontNumber=index, lazy=True)["fvar"].axes}


def _locations(font: Any, axes: dict[str, Any]) -> dict[str, float]:
    """Where each axis is pinned: the rule of WeasyPrint's Font.clean (weight, optical size from the font size, slant
    and italic from the style), on top of the variations the CSS asked for."""
    variations = dict(font.variations)
    if "wght" in axes and "wght" not in variations:
        variations["wght"] = font.weight
    if "opsz" in axes and "opsz" not in variations:
        variations["opsz"] = font.font_size
    if "slnt" in axes and "slnt" not in variations:
        slant = axes["slnt"]
        variations["slnt"] = (slant.minValue if slant.maxValue == 0 else slant.maxValue) if font.style == 1 else 0
    if "ital" in axes and "ital" not in variations:
        variations["ital"] = int(font.style == 2)
    return variations


def _subset(
    libraries: tuple[Any, Any, Any],
    data: bytes,
    index: int,
    gids: dict[int, Any],
    hinting: bool,
    missing: bool,
    pins: dict[str, float | None],
) -> bytes | None:
    """WeasyPrint's two HarfBuzz passes: the used glyphs at their ids with every axis of ``pins`` pinned (at its
    default where None), then the glyphs up to the last used one without hinting unless asked."""
    ffi, harfbuzz, subset = libraries
    buffer = ffi.from_buffer(data)
    blob = harfbuzz.hb_blob_create(buffer, len(data), _READONLY, ffi.NULL, ffi.NULL)
    face = harfbuzz.hb_face_create(blob, index)
    harfbuzz.hb_blob_destroy(blob)
    notdef = _NOTDEF_OUTLINE if missing else 0
    first = _input(ffi, subset, _RETAIN_GIDS | _PASSTHROUGH_UNRECOGNIZED | _DESUBROUTINIZE | notdef)
    second = _input(ffi, subset, _PASSTHROUGH_UNRECOGNIZED | _DESUBROUTINIZE | notdef | (0 if hinting else _NO_HINTING))
    static = final = ffi.NULL
    try:
        glyphs = subset.hb_subset_input_glyph_set(first)
        for gid in sorted(gids):
            harfbuzz.hb_set_add(glyphs, gid)
        dropped = subset.hb_subset_input_set(first, _DROP_TABLE_TAG)
        for tag in _DROPPED:
            harfbuzz.hb_set_add(dropped, harfbuzz.hb_tag_from_string(tag, -1))
        for axis, value in pins.items():
            tag = harfbuzz.hb_tag_from_string(axis.encode("ascii"), -1)
            if value is not None:
                pinned = subset.hb_subset_input_pin_axis_location(first, face, tag, float(value))
            else:
                pinned = subset.hb_subset_input_pin_axis_to_default(first, face, tag)
            if not pinned:
                return None
        static = subset.hb_subset_or_fail(face, first)
        if static == ffi.NULL:
            return None
        harfbuzz.hb_set_add_range(subset.hb_subset_input_glyph_set(second), 0, max(gids))
        final = subset.hb_subset_or_fail(static, second)
        return None if final == ffi.NULL else _bytes(ffi, harfbuzz, final)
    finally:
        for made in (final, static, face):
            if made != ffi.NULL:
                harfbuzz.hb_face_destroy(made)
        subset.hb_subset_input_destroy(first)
        subset.hb_subset_input_destroy(second)
        del buffer  # the source face read it until here


def _input(ffi: Any, subset: Any, flags: int) -> Any:
    made = subset.hb_subset_input_create_or_fail()
    if made == ffi.NULL:
        raise MemoryError("HarfBuzz could not make a subset input")
    subset.hb_subset_input_set_flags(made, flags)
    return made


def _bytes(ffi: Any, harfbuzz: Any, face: Any) -> bytes | None:
    blob = harfbuzz.hb_face_reference_blob(face)
    length = ffi.new("unsigned int *")
    data = harfbuzz.hb_blob_get_data(blob, length)
    content = ffi.buffer(data, length[0])[:] if length[0] else None
    harfbuzz.hb_blob_destroy(blob)
    return content


def _overlap_flags(data: bytes) -> bytes:
    """The font with every glyph marked as possibly overlapping (OVERLAP_SIMPLE on a simple glyph's first point,
    OVERLAP_COMPOUND on a composite's first component), as fontTools' instancer marks a static instance
    (setMacOverlapFlags): a variable font's contours overlap, and FreeType-based viewers draw marked glyphs with
    supersampling, which changes their anti-aliased edges. Written into the glyf table in place, with the table's
    checksum and the font's checksum adjustment made right again."""
    font = bytearray(data)
    tables = {
        bytes(font[at : at + 4]): (at, *struct.unpack_from(">LL", font, at + 8))
        for at in range(12, 12 + 16 * struct.unpack_from(">H", font, 4)[0], 16)
    }
    if not {b"glyf", b"loca", b"head", b"maxp"} <= tables.keys():
        return data
    _, head, _ = tables[b"head"]
    _, glyf, glyf_length = tables[b"glyf"]
    _, loca, _ = tables[b"loca"]
    glyphs = struct.unpack_from(">H", font, tables[b"maxp"][1] + 4)[0]
    long_offsets = struct.unpack_from(">h", font, head + 50)[0] == 1
    offsets = struct.unpack_from(f">{glyphs + 1}{'L' if long_offsets else 'H'}", font, loca)
    scale = 1 if long_offsets else 2
    for start, end in pairwise(offsets):
        if end <= start:
            continue  # an empty glyph
        at = glyf + start * scale
        contours = struct.unpack_from(">h", font, at)[0]
        if contours > 0:
            instructions = struct.unpack_from(">H", font, at + 10 + 2 * contours)[0]
            font[at + 12 + 2 * contours + instructions] |= _OVERLAP_SIMPLE
        elif contours < 0:
            struct.pack_into(">H", font, at + 10, struct.unpack_from(">H", font, at + 10)[0] | _OVERLAP_COMPOUND)
    struct.pack_into(">L", font, tables[b"glyf"][0] + 4, _checksum(font[glyf : glyf + glyf_length]))
    struct.pack_into(">L", font, head + 8, 0)
    struct.pack_into(">L", font, head + 8, (0xB1B0AFBA - _checksum(font)) & 0xFFFFFFFF)
    return bytes(font)


def _checksum(data: bytes | bytearray) -> int:
    padded = bytes(data) + b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}L", padded)) & 0xFFFFFFFF
