"""The memo's fonts: OFL families installed from PyPI, used alike by the HTML, the PDF and the charts.

Source Serif 4 sets the text, IBM Plex Sans the headings, tables and charts. Both are variable fonts, so one file
per style covers every weight. The HTML and PDF load them from ``fonts/`` beside memo.html; vl-convert reads the
same files, so chart labels are measured and drawn in the font the PDF shows.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SERIF = "Source Serif 4"
SANS = "IBM Plex Sans"
_PACKAGES = ("fontpkg_source_serif_4", "fontpkg_ibm_plex_sans")


@dataclass(frozen=True)
class FontFile:
    family: str
    path: Path
    italic: bool
    weights: tuple[int, int]

    @property
    def name(self) -> str:
        """The file name used under ``fonts/`` (no brackets, which some servers mangle)."""
        return self.path.name.replace("[", "-").replace("]", "").replace(",", "-")


@cache
def font_files() -> tuple[FontFile, ...]:
    files: list[FontFile] = []
    for package in _PACKAGES:
        root = Path(importlib.import_module(package).__file__).parent
        meta = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
        axis = next(a for a in meta["axes"] if a["tag"] == "wght")
        for path in sorted((root / "files").glob("*.ttf")):
            files.append(FontFile(meta["family"], path, "Italic" in path.name, (int(axis["min"]), int(axis["max"]))))
    return tuple(files)


def licenses() -> dict[str, bytes]:
    """The OFL licence of each family, to ship beside the font files."""
    out: dict[str, bytes] = {}
    for package in _PACKAGES:
        root = Path(importlib.import_module(package).__file__).parent
        out[f"{package.removeprefix('fontpkg_').replace('_', '-')}-LICENSE.txt"] = (root / "LICENSE").read_bytes()
    return out


def font_face_css(prefix: str = "fonts/") -> str:
    rules = []
    for font in font_files():
        low, high = font.weights
        rules.append(
            "@font-face { "
            f"font-family: '{font.family}'; src: url('{prefix}{font.name}') format('truetype'); "
            f"font-weight: {low} {high}; font-style: {'italic' if font.italic else 'normal'}; font-display: swap; }}"
        )
    return "\n".join(rules) + "\n"


@cache
def register_with_vl_convert() -> None:
    import vl_convert

    for directory in sorted({str(font.path.parent) for font in font_files()}):
        vl_convert.register_font_directory(directory)


@cache
def digest() -> str:
    """One digest of every font file, for cache keys: a font update invalidates what it drew."""
    from memo.cache import files_digest

    return files_digest(font.path for font in font_files())


_HARFBUZZ_SUBSET = (
    "libharfbuzz-subset.so.0",
    "libharfbuzz-subset.so",
    "libharfbuzz-subset-0.dll",
    "libharfbuzz-subset.dylib",
)


@cache
def _harfbuzz() -> tuple[Any, Any, str, str] | None:
    """libharfbuzz and libharfbuzz-subset as ctypes loads them, and their names, when both load."""
    # The same test WeasyPrint makes (its text.ffi), without importing WeasyPrint, which costs a third of a second.
    import ctypes

    for name in _HARFBUZZ_SUBSET:
        try:
            subset = ctypes.CDLL(name)
            harfbuzz = ctypes.CDLL(name.replace("-subset", ""))
        except OSError:
            continue
        return harfbuzz, subset, name.replace("-subset", ""), name
    return None


def _harfbuzz_version() -> str:
    import ctypes

    found = _harfbuzz()
    if found is None:
        return ""
    found[0].hb_version_string.restype = ctypes.c_char_p
    return found[0].hb_version_string().decode("ascii")


def font_subsetter() -> str:
    """Which library subsets the PDF's fonts: HarfBuzz when its subsetting library is installed, else fontTools.
    The two give different bytes, so the build records which one ran."""
    found = _harfbuzz()
    if found is not None and found[0].hb_version_atleast(4, 1, 0):
        return "harfbuzz"
    from importlib import metadata

    return "fonttools " + metadata.version("fonttools")


def harfbuzz_libraries() -> tuple[str, str] | None:
    """The names of libharfbuzz and libharfbuzz-subset when the subsetter can pin a variable font's axes (HarfBuzz
    6.0 and later), which makes the static instances the PDF embeds (memo.fontinstance); else None."""
    found = _harfbuzz()
    if found is None or not found[0].hb_version_atleast(6, 0, 0):
        return None
    if not hasattr(found[1], "hb_subset_input_pin_axis_location"):
        return None
    return found[2], found[3]


def font_instancer() -> str:
    """Which library turns the variable fonts into static instances for the PDF, with its version: the bytes of
    the embedded fonts depend on it."""
    if harfbuzz_libraries() is not None:
        return "harfbuzz " + _harfbuzz_version()
    from importlib import metadata

    return "fonttools " + metadata.version("fonttools")


def font_tools() -> str:
    """The subsetter and the instancer together, as the build stamp records them (memo.quick)."""
    return f"{font_subsetter()}; instancer {font_instancer()}"
