"""PDF stage: WeasyPrint lays out memo.html as paged media.

The URL fetcher reads only files inside the project and output directories (and the installed font files the
memo's CSS names); anything else, any network scheme and any redirect is refused and fails the build. Output is
byte-identical for the same input: fonts are subset with a fixed timestamp (SOURCE_DATE_EPOCH from the memo's
as-of date) and the PDF's dates come from the document's metadata, not the clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from math import inf
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from memo import fontinstance, fonts, htmltree
from memo.errors import MemoError


class RefusedURL(MemoError):
    pass


def _fetcher_class() -> type:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class ConfinedFetcher(URLFetcher):
        """Serves the font files and files under the allowed roots; refuses everything else."""

        def __init__(self, roots: Sequence[Path], font_dir: Path) -> None:
            super().__init__(allowed_protocols={"file"}, allow_redirects=False, fail_on_errors=True)
            self.roots = [root.resolve() for root in roots]
            self.font_dir = font_dir.resolve()
            self.font_files = {font.name: font.path for font in fonts.font_files()}
            self.refused: list[str] = []

        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            path = self.resolve(url)
            if path is None:
                self.refused.append(url)
                raise FatalURLFetchingError(f"refused to load {url}: only files inside the project may be read")
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": _mime(path)})

        def resolve(self, url: str) -> Path | None:
            parts = urlsplit(url)
            if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
                return None
            path = Path(unquote(parts.path))
            if path.parent == self.font_dir and path.name in self.font_files:
                return self.font_files[path.name]
            real = path.resolve()
            if any(real.is_relative_to(root) for root in self.roots) and real.is_file():
                return real
            return None

    return ConfinedFetcher


def make_fetcher(roots: Sequence[Path], font_dir: Path):
    return _fetcher_class()(roots, font_dir)


def _mime(path: Path) -> str:
    return {
        ".ttf": "font/ttf",
        ".woff2": "font/woff2",
        ".css": "text/css",
        ".svg": "image/svg+xml",
        ".png": "image/png",
    }.get(path.suffix, "application/octet-stream")


@contextmanager
def _source_date(epoch: int) -> Iterator[None]:
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


# WeasyPrint decides a footnote "overflows" its area by comparing two sums of the same lengths added in a different
# order (`last_child_bottom > footnote_area_bottom` in LayoutContext._update_footnote_area). The sums can differ in
# the last bit, and then every footnote is moved to the page after its call (WeasyPrint issue 2502; seen with a
# padding-top and a margin-top on @footnote). This is that method with the comparison given a tolerance far below
# a device pixel; nothing else changes.
_FOOTNOTE_TOLERANCE = 1e-6


@cache
def _patch_footnote_overflow() -> None:
    from weasyprint.formatting_structure import build
    from weasyprint.layout import LayoutContext
    from weasyprint.layout.block import block_level_layout

    def update_footnote_area(self) -> bool:
        area = self.current_footnote_area
        if area.height != "auto" and not self.in_column:
            self.page_bottom += area.margin_height()
        area.children = self.current_page_footnotes
        if not area.children:
            area.height = 0
            if not self.in_column:
                self.page_bottom -= area.margin_height()
            return False
        laid_out = block_level_layout(self, build.create_anonymous_boxes(area.deepcopy()), -inf, None, area.page)[0]
        area.height = laid_out.height
        if not self.in_column:
            self.page_bottom -= laid_out.margin_height()
        last = laid_out.children[-1]
        last_bottom = last.position_y + last.margin_height() - last.margin_bottom
        area_bottom = laid_out.position_y + laid_out.margin_height() - laid_out.margin_bottom
        return last_bottom > area_bottom + _FOOTNOTE_TOLERANCE

    LayoutContext._update_footnote_area = update_footnote_area


# Turning a variable font into the static instance a PDF embeds (fontTools' instancer, in WeasyPrint's Font.clean)
# takes about a tenth of the PDF stage, and a rebuild after an edit needs the same instances again: the same font file,
# glyphs, weight, size and style give the same bytes. So instances are kept: in this process and, when the build
# passes its cache, in .memo-cache as data (font bytes), keyed by everything clean() reads and the library versions.
_FONT_INSTANCES: dict[str, bytes] = {}
_FONT_INSTANCES_LIMIT = 64
_font_store: ContextVar[Any] = ContextVar("memo_font_store", default=None)


def _font_key(font: Any, to_unicode: dict[int, Any], hinting: bool) -> str:
    from memo.cache import key

    state = (
        font.index, sorted(to_unicode), bool(font.missing), sorted(font.variations.items()), font.weight,
        font.font_size, font.style, bool(font.png or font.svg or font.colr), hinting, sorted(font.tables),
    )  # fmt: skip
    return key(renderer_versions(), hashlib.sha256(font.file_content).digest(), repr(state))


@cache
def _patch_font_instances() -> None:
    import json

    from weasyprint.pdf.fonts import Font

    clean = Font.clean

    def cached_clean(self: Any, to_unicode: dict[int, Any], hinting: bool) -> None:
        digest = _font_key(self, to_unicode, hinting)
        store = _font_store.get()
        found = _FONT_INSTANCES.get(digest) or (store.get("font-instance", digest) if store is not None else None)
        if found is not None:
            head, _, body = found.partition(b"\n")
            self.variations = json.loads(head)
            self.file_content = body
        else:
            if not fontinstance.clean(self, to_unicode, hinting):
                clean(self, to_unicode, hinting)
            found = json.dumps(self.variations, sort_keys=True).encode() + b"\n" + self.file_content
            if store is not None:
                store.put("font-instance", digest, found)
        _FONT_INSTANCES[digest] = found
        while len(_FONT_INSTANCES) > _FONT_INSTANCES_LIMIT:
            del _FONT_INSTANCES[next(iter(_FONT_INSTANCES))]

    Font.clean = cached_clean


_importing: list[threading.Thread] = []  # the one import of this process, once started
_importing_lock = threading.Lock()


def start_renderer(lowest_priority: bool = False, languages: Sequence[str] = ()) -> threading.Thread:
    """Import WeasyPrint (0.8 s, a third of it cffi reading its C declarations) in a background thread, once per
    process: the import runs while the build waits for vl-convert's charts, and ``write_pdf`` joins it.

    ``lowest_priority`` (the PDF worker, whose main thread only waits meanwhile) runs it at the lowest scheduling
    priority, which Linux gives each thread: the build's own process, which makes the HTML, then comes first on a
    busy core. A build's own process must not: its main thread would wait for the GIL held by a thread that is
    rarely scheduled. ``languages``' hyphenation patterns are loaded too (a tenth of a second each, else spent in
    the layout of each part that hyphenates)."""
    with _importing_lock:
        if not _importing:
            arguments = (lowest_priority, tuple(languages))
            thread = threading.Thread(target=_import_renderer, args=arguments, name="memo-pdf-import")
            thread.daemon = True
            thread.start()
            _importing.append(thread)
        return _importing[0]


def _import_renderer(lowest_priority: bool, languages: tuple[str, ...] = ()) -> None:
    """Import WeasyPrint and make its font configuration, ahead of the first PDF."""
    if lowest_priority:
        with contextlib.suppress(AttributeError, OSError):  # no per-thread priority here: import as is
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    with contextlib.suppress(Exception):  # write_pdf imports it again and reports any trouble
        try:
            with _loader_names_only():
                import weasyprint
        except Exception:
            import weasyprint  # a library that only find_library's own search finds
        import weasyprint.pdf.fonts  # noqa: F401

        font_configuration()
        import pyphen

        for language in languages:
            if (known := pyphen.language_fallback(language)) is not None:
                pyphen.Pyphen(lang=known)  # kept in pyphen's cache, where WeasyPrint's layout finds it


@contextmanager
def _loader_names_only() -> Iterator[None]:
    """WeasyPrint opens each C library by trying its names for every platform in turn, and cffi hands a name the
    loader refuses to ``ctypes.util.find_library``, which on Linux runs ldconfig and the compiler in subprocesses:
    22 lookups, a quarter of a second of the import, nearly all for Windows and macOS names that cannot be here.
    Each list also names the Linux soname, which the loader finds itself (ld.so.cache, LD_LIBRARY_PATH), as
    memo.fonts finds HarfBuzz; so on Linux the lookups answer "not found" at once while WeasyPrint is imported."""
    import ctypes.util

    if not sys.platform.startswith("linux"):
        yield
        return
    find_library = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        yield
    finally:
        ctypes.util.find_library = find_library


@cache
def font_configuration():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


# The PDF declares PDF/UA-1 (ISO 14289-1). WeasyPrint tags the content and writes the catalog's /MarkInfo, /Lang,
# /ViewerPreferences DisplayDocTitle and an XMP packet with pdfuaid:part 1 and dc:title; `_finish_pdf_ua` adds what
# its tagging leaves out of that standard. Every value comes from the document (the XMP dates are its
# dcterms.created/modified, the file identifier a digest of the content: pydyf's for a PDF laid out whole, qpdf's for
# one joined from parts), so rebuilds stay byte-identical.
PDF_VARIANT = "pdf/ua-1"


def _finish_pdf_ua(document: Any, pdf: Any) -> None:
    """WeasyPrint's hook between building the PDF objects and writing them."""
    boxes = [box for page in document.pages for box in _descendants(page._page_box)]
    _describe_links(boxes)
    _scope_header_cells(boxes)
    _margin_content_as_artifacts(pdf)


def _descendants(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", ()):
        yield from _descendants(getattr(child, "_box", child))


def _describe_links(boxes: Sequence[Any]) -> None:
    """A link annotation's alternate description (/Contents, ISO 14289-1 7.18.5) is the link's text as a reader sees
    it; WeasyPrint writes the bare target ("summary" for a contents entry)."""
    import pydyf

    for box in boxes:
        annotation = getattr(box, "link_annotation", None)
        if annotation is None or box.element is None:
            continue
        text = " ".join("".join(box.element.itertext()).split())
        if text:
            annotation["Contents"] = pydyf.String(text)


def _scope_header_cells(boxes: Sequence[Any]) -> None:
    """Each TH says whether it heads a row or a column (/Scope), as its HTML scope does; WeasyPrint links the TD cells
    to their headers by /ID and /Headers with the same rule (scope="row" heads a row, anything else a column)."""
    for box in boxes:
        element = getattr(box, "mark", None)
        if element is not None and box.element_tag == "th":
            element["A"]["Scope"] = "/Row" if box.element.get("scope") == "row" else "/Column"


def _margin_content_as_artifacts(pdf: Any) -> None:
    """The page-margin boxes (running heads, page numbers) are pagination artifacts. WeasyPrint 70 marks their text as
    tagged content whose structure elements it leaves out of the tree (it could only make them artifacts in PDF 2.0,
    says pdf/tags.py); PDF/UA-1 wants every piece of content either in the tree or an artifact. So content whose
    element the tree cannot reach becomes /Artifact marked content, and its entry leaves the parent tree."""
    import pydyf

    def get(reference: bytes) -> Any:
        return pdf.objects[int(reference.split()[0])]

    root = get(pdf.catalog["StructTreeRoot"])
    reachable = _reachable_elements(root, get)
    nums = get(root["ParentTree"])["Nums"]
    parents = dict(zip(nums[::2], nums[1::2], strict=True))
    for reference in pdf.page_references:
        page = get(reference)
        elements = parents[page["StructParents"]]
        stray = {mcid for mcid, element in enumerate(elements) if int(element.split()[0]) not in reachable}
        if not stray:
            continue
        content = get(page["Contents"]).stream
        for i in range(len(content) - 2):
            properties = content[i + 1]
            if content[i + 2] == b"BDC" and isinstance(properties, dict) and properties.get("MCID") in stray:
                content[i] = "/Artifact"
                content[i + 1] = pydyf.Dictionary({"Type": "/Pagination"})
                elements[properties["MCID"]] = "null"


def _reachable_elements(root: Any, get: Any) -> set[int]:
    """Object numbers of the structure elements (and annotation references) below the structure tree root."""
    seen: set[int] = set()
    stack = list(root["K"])
    while stack:
        kid = stack.pop()
        if not isinstance(kid, bytes):
            continue  # a marked-content id
        number = int(kid.split()[0])
        if number not in seen:
            seen.add(number)
            stack.extend(get(kid).get("K", ()) if isinstance(get(kid).get("K"), list) else ())
    return seen


def for_print(html: str) -> str:
    """memo.html as WeasyPrint reads it, without what it would only style and never draw, which costs layout time
    and changes no page: the hidden container of the numbers' descriptions (a quarter of the page's elements, there
    for aria-describedby in the HTML; the PDF's structure tree does not use it), and each <wbr> becomes the
    zero-width space WeasyPrint's own stylesheet draws for it (``wbr::before``), as text rather than one inline box
    and one pseudo-element per break opportunity."""
    from memo.markup import PROVENANCE_OPEN

    start, end = html.rfind(PROVENANCE_OPEN), html.rfind("</body>")
    if 0 <= start < end and html[start:end].endswith("</div>\n"):
        html = html[:start] + html[end:]
    return html.replace("<wbr>", "\u200b")


def _document(html: str, base_url: str, fetcher: Any) -> Any:
    """WeasyPrint's HTML document for ``html``, from memo.htmltree's tree when it can build it (the tree tinyhtml5
    would give, in a sixth of the time), else parsed by WeasyPrint."""
    import weasyprint

    tree = htmltree.parse(html)
    if tree is None:
        return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    return _parsed_class()(tree, base_url, fetcher)


# An inline <svg> is a replaced element: WeasyPrint draws it from its own parse of the element's subtree. Yet it styles
# every element of that subtree with the document's stylesheets and builds a box for each, which it then throws away:
# a third of the memo's elements are its charts', and a third of styling and box building goes to them. So while
# WeasyPrint styles and boxes the document, each inline SVG's content is set aside, and it is put back for the
# handler that makes the SVG image. The PDF's bytes are the same.
_set_aside: ContextVar[dict[int, tuple[Any, list[Any]]] | None] = ContextVar("memo_svg_set_aside", default=None)
SVG_TAG = "{http://www.w3.org/2000/svg}svg"


def _set_aside_svg_content(root: Any) -> dict[int, tuple[Any, list[Any]]]:
    """Each outermost <svg>'s text and children, taken out of the tree (an <svg> inside one goes with it)."""
    aside: dict[int, tuple[Any, list[Any]]] = {}
    stack = [root]
    while stack:
        element = stack.pop()
        if element.tag == SVG_TAG:
            aside[id(element)] = (element.text, list(element))
            element.text = None
            del element[:]
        else:
            stack.extend(element)
    return aside


@cache
def _patch_svg_handler() -> None:
    from weasyprint import html

    original = html.HTML_HANDLERS[SVG_TAG]

    def handle_svg(element: Any, *args: Any) -> Any:
        aside = _set_aside.get()
        if aside is not None and id(element) in aside:
            element.text, children = aside.pop(id(element))
            element.extend(children)
        return original(element, *args)

    html.HTML_HANDLERS[SVG_TAG] = handle_svg


@cache
def _patch_style_lookup() -> None:
    """A fast path for the commonest computed-style lookup: a property the element's rules do not set, which
    WeasyPrint's ``ComputedStyle.__missing__`` treats as "inherit" or "initial" only after its general steps (a
    logical twin, var(), math functions, the special cases), a fifth of the time of laying out a table. Such a
    property is the parent's value when inherited, else its initial value when that needs no computing: what those
    steps arrive at. Anything else (a set property, a logical twin that is set, a value that must be computed,
    position, float, display, page, text decorations, custom properties) takes WeasyPrint's own path. The PDF's
    bytes are the same either way (tests/test_pdf.py checks it on a page made to reach each case, and on the memo)."""
    from weasyprint.css import ComputedStyle
    from weasyprint.css.computed_values import PHYSICAL_FUNCTIONS
    from weasyprint.css.properties import INHERITED, INITIAL_NOT_COMPUTED, INITIAL_VALUES

    general = ComputedStyle.__missing__
    special = frozenset(("position", "float", "display", "page"))

    def missing(self: Any, key: str) -> Any:
        cascaded = self.cascaded
        if key in cascaded or key in special or key[:2] == "__" or key[:16] == "text_decoration_":
            return general(self, key)
        logical = PHYSICAL_FUNCTIONS.get(key)
        if logical is not None and logical(block="ttb", inline=self["direction"]) in cascaded:
            return general(self, key)
        if key in INHERITED:
            if self.parent_style is None:
                return general(self, key)
            value = self[key] = self.parent_style[key]
            return value
        if key in INITIAL_NOT_COMPUTED:
            return general(self, key)
        value = self[key] = INITIAL_VALUES[key]
        return value

    missing.general = general  # type: ignore[attr-defined]  # for the test that both give the same PDF
    ComputedStyle.__missing__ = missing


@cache
def _parsed_class() -> type:
    import cssselect2
    import weasyprint

    class ParsedHTML(weasyprint.HTML):
        """weasyprint.HTML for a tree parsed already: what its __init__ sets after parsing."""

        def __init__(self, tree: Any, base_url: str, url_fetcher: Any) -> None:
            self.base_url = weasyprint._find_base_url(tree, base_url)
            self.url_fetcher = url_fetcher
            self.media_type = "print"
            self.wrapper_element = cssselect2.ElementWrapper.from_html_root(tree, content_language=None)
            self.etree_element = self.wrapper_element.etree_element

    return ParsedHTML


def patch_weasyprint() -> None:
    """memo's changes to WeasyPrint (the footnote fix, the font instances, the inline SVG handler), for anything
    that lays out a PDF: its bytes must not depend on whether an earlier PDF in the same process applied them."""
    _patch_footnote_overflow()
    _patch_font_instances()
    _patch_svg_handler()
    _patch_style_lookup()


def write_pdf(html: str, *, out_dir: Path, project_dir: Path, as_of: dt.date, cache: Any = None) -> bytes:
    """The PDF of memo.html: laid out in two parts at once where it can be (:mod:`memo.pdf.parts`), else whole.
    ``cache`` (a memo.cache.Cache) keeps the fonts' static instances across builds, and the plan of the parts."""
    from memo.pdf import parts

    start_renderer().join()
    patch_weasyprint()
    printed = for_print(html)
    with collector_paused():
        made = parts.write(printed, out_dir=out_dir, project_dir=project_dir, as_of=as_of, store=cache)
        if made is None:
            made = _write_whole(printed, out_dir=out_dir, project_dir=project_dir, as_of=as_of, cache=cache)
    return made


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while WeasyPrint lays out and writes: it makes millions of short-lived objects,
    nearly all freed by their reference counts, and the collector's passes over the growing heap took a tenth of the
    time (0.8 s of 8, five of them full). What cycles there are wait for the collector's next pass, which comes
    with the first allocation after: the PDF worker pauses it until the PDF is sent (that pass takes 0.07 s)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _write_whole(printed: str, *, out_dir: Path, project_dir: Path, as_of: dt.date, cache: Any) -> bytes:
    from weasyprint.urls import FatalURLFetchingError

    with printing(printed, out_dir.resolve(), project_dir, as_of, cache) as (document, fetcher):
        try:
            return written(laid_out(document))
        except (Exception, FatalURLFetchingError) as exc:
            if fetcher.refused:
                raise RefusedURL(
                    f"error: memo.html asks for {fetcher.refused[0]}; only files inside the project may be read"
                ) from None
            raise MemoError(f"error: PDF rendering failed: {type(exc).__name__}: {exc}") from exc


@contextmanager
def printing(html: str, base: Path, project_dir: Path, as_of: dt.date, cache: Any) -> Iterator[tuple[Any, Any]]:
    """WeasyPrint's document for ``html`` (memo.html as printed, or a part of it) and its URL fetcher, with what
    memo's patches read set while it is laid out and written: the store of font instances, the inline SVGs' content
    set aside, and SOURCE_DATE_EPOCH from the memo's as-of date."""
    fetcher = make_fetcher([project_dir, base], base / "fonts")
    document = _document(html, str(base) + "/", fetcher)
    epoch = int(dt.datetime.combine(as_of, dt.time(), dt.UTC).timestamp())
    token, aside = _font_store.set(cache), _set_aside.set(_set_aside_svg_content(document.etree_element))
    try:
        with _source_date(epoch):
            yield document, fetcher
    finally:
        _font_store.reset(token)
        _set_aside.reset(aside)


def laid_out(document: Any) -> Any:
    """The document's pages (a weasyprint Document)."""
    return document.render(font_config=font_configuration(), pdf_variant=PDF_VARIANT)


def written(rendered: Any) -> bytes:
    """The laid-out document as memo's PDF: PDF/UA-1, with the content-digest identifier."""
    return rendered.write_pdf(pdf_variant=PDF_VARIANT, pdf_identifier=True, finisher=_finish_pdf_ua)


def renderer_versions() -> str:
    """What besides the HTML decides the PDF's bytes: the renderer, its PDF writer and font subsetting."""
    from memo.pdf.parts import available

    return f"{_libraries()},layout={'parts' if available() else 'whole'}"


@cache
def _libraries() -> str:
    """The libraries' versions, read once per process (each font instance's key names them, and a metadata lookup
    costs milliseconds): a library installed while memo runs is not the one it imported anyway."""
    from importlib import metadata

    from memo.fonts import font_instancer, font_subsetter

    names = ("weasyprint", "pydyf", "fonttools", "pikepdf")
    versions = ",".join(f"{name}={metadata.version(name)}" for name in names)
    return f"{versions},subsetter={font_subsetter()},instancer={font_instancer()}"


def page_counter() -> Any:
    """pypdfium2, which counts a PDF's pages (a tenth of a second to import)."""
    import pypdfium2

    return pypdfium2


def page_count(pdf: bytes | Path) -> int:
    """The number of pages of a PDF (its bytes or its file): the build's summary line, the benchmark."""
    document = page_counter().PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()
