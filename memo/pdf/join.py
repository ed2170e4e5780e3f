"""Join the two parts' PDFs (:mod:`memo.pdf.part`) into the document's, with pikepdf (qpdf): a tenth of a second.

Each part is a tagged PDF/UA file of its own. Joined:
- the second part's pages follow the first's, with their content, resources and annotations; the parent-tree keys
  (each page's ``/StructParents``, each annotation's ``/StructParent``) are numbered as WeasyPrint numbers a whole
  document's: the pages' first, in page order, then the annotations';
- the structure elements under the second part's ``/Document`` element become children of the first's;
- a link to an anchor of the other part is a named destination (WeasyPrint writes ``/Dest (name)``, and the part
  kept the link by holding a stand-in anchor), so the joined name tree takes each anchor from the part that lays it
  out;
- the outline is built from both parts' bookmarks by WeasyPrint's own rule (``make_page_bookmark_tree``);
- the catalog, document information and XMP metadata are the first part's (the same HTML head made both);
- the file identifier is qpdf's digest of the content (both entries), so the same parts give the same bytes.
"""

from __future__ import annotations

import io
import warnings
from types import SimpleNamespace
from typing import Any

from memo.pdf.part import Made


def join(first: Made, second: Made, held: tuple[frozenset[str], frozenset[str]]) -> bytes:
    """The document's PDF; ``held`` names the anchors each part's HTML holds (the other's are stand-ins)."""
    import pikepdf

    document = pikepdf.open(io.BytesIO(first.pdf))
    other = pikepdf.open(io.BytesIO(second.pdf))
    tree, other_tree = document.Root.StructTreeRoot, other.Root.StructTreeRoot
    first_key, second_key = _renumbering(document, other)
    for page in other.pages:
        page.obj.StructParents = second_key(int(page.obj.StructParents))
        for annotation in page.obj.get("/Annots", ()):
            if "/StructParent" in annotation:
                annotation.StructParent = second_key(int(annotation.StructParent))
    for page in document.pages:
        for annotation in page.obj.get("/Annots", ()):
            if "/StructParent" in annotation:
                annotation.StructParent = first_key(int(annotation.StructParent))
    destinations = {**_destinations(document, held[0], 0), **_destinations(other, held[1], len(document.pages))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)  # named destinations are joined below
        document.pages.extend(other.pages)

    root_element, other_root = _document_element(tree), _document_element(other_tree)
    kids = _as_array(root_element.K)
    for kid in _as_array(other_root.K):
        copied = _copy(document, kid)
        if isinstance(copied, pikepdf.Dictionary) and "/P" in copied:
            copied.P = root_element
        kids.append(copied)
    root_element.K = kids
    entries = [(first_key(int(key)), value) for key, value in _pairs(tree.ParentTree.Nums)]
    entries += [(second_key(int(key)), _copy(document, value)) for key, value in _pairs(other_tree.ParentTree.Nums)]
    tree.ParentTree.Nums = pikepdf.Array(
        [item for key, value in sorted(entries, key=lambda e: e[0]) for item in (key, value)]
    )

    pages = [page.obj for page in document.pages]
    names = pikepdf.Array()
    for name in sorted(destinations):
        page_index, rest = destinations[name]
        names.append(pikepdf.String(name))
        names.append(pikepdf.Array([pages[page_index], *rest]))
    document.Root.Names.Dests = document.make_indirect(pikepdf.Dictionary(Names=names))
    _outline(document, pages, [first, second])
    del document.trailer.ID  # qpdf then gives both entries its digest of the content: a new file, identified by it
    out = io.BytesIO()
    document.save(out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def _renumbering(first: Any, second: Any) -> tuple[Any, Any]:
    """The parent-tree keys of both parts in the joined document, as WeasyPrint numbers a document's: page ``i`` has
    key ``i``, and the annotations' keys follow the last page's, the first part's before the second's."""
    first_pages, second_pages = len(first.pages), len(second.pages)
    for pdf in (first, second):
        if [int(page.obj.StructParents) for page in pdf.pages] != list(range(len(pdf.pages))):
            raise ValueError("a part's pages are not keyed by their number in its parent tree")
    first_next = max((int(key) for key, _ in _pairs(first.Root.StructTreeRoot.ParentTree.Nums)), default=-1) + 1

    def first_key(key: int) -> int:
        return key if key < first_pages else key + second_pages

    def second_key(key: int) -> int:
        return first_pages + key if key < second_pages else first_next + key

    return first_key, second_key


def _pairs(nums: Any) -> list[tuple[Any, Any]]:
    items = list(nums)
    return list(zip(items[::2], items[1::2], strict=True))


def _copy(document: Any, value: Any) -> Any:
    """``value`` of the other part, in ``document``: an indirect object through qpdf's copier (which maps each object
    once, so what the pages' copies point at stays one object), a direct array or dictionary item by item."""
    import pikepdf

    if not isinstance(value, pikepdf.Object):
        return value
    if value.is_indirect:
        return document.copy_foreign(value)
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([_copy(document, item) for item in value])
    if isinstance(value, pikepdf.Dictionary):
        return pikepdf.Dictionary({key: _copy(document, item) for key, item in value.items()})
    return value


def _as_array(value: Any) -> Any:
    import pikepdf

    return value if isinstance(value, pikepdf.Array) else pikepdf.Array([value])


def _document_element(tree: Any) -> Any:
    element = _as_array(tree.K)[0]
    if element.get("/S") != "/Document":
        raise ValueError("a part's structure tree does not start with its /Document element")
    return element


def _destinations(pdf: Any, held: frozenset[str], first_page: int) -> dict[str, tuple[int, list[Any]]]:
    """The part's named destinations of the anchors it holds: (index of the page in the joined document, the rest
    of the destination array)."""
    names = pdf.Root.get("/Names")
    if names is None or "/Dests" not in names:
        return {}
    numbers = {page.obj.objgen: index for index, page in enumerate(pdf.pages)}
    array = list(names.Dests.Names)
    found = {}
    for name, destination in zip(array[::2], array[1::2], strict=True):
        if str(name) in held:
            found[str(name)] = (first_page + numbers[destination[0].objgen], list(destination)[1:])
    return found


def _bookmark_tree(parts: list[Made]) -> list[Any]:
    """Both parts' bookmarks as one tree, as WeasyPrint's Document.make_bookmark_tree makes it for the PDF."""
    from weasyprint.anchors import make_page_bookmark_tree
    from weasyprint.matrix import Matrix

    root: list[Any] = []
    skipped: list[int] = []
    last_by_depth = [root]
    previous, number = 0, 0
    for made in parts:
        for bookmarks, height in zip(made.bookmarks, made.heights, strict=True):
            matrix = Matrix(a=0.75, d=-0.75, f=height * 0.75)  # CSS px to PDF points, origin at the bottom
            page = SimpleNamespace(bookmarks=bookmarks)
            previous = make_page_bookmark_tree(page, skipped, last_by_depth, previous, number, matrix)
            number += 1
    return root


def _outline(document: Any, pages: list[Any], parts: list[Made]) -> None:
    """The outline of the joined document, written as WeasyPrint's add_outlines writes it."""
    import pikepdf

    tree = _bookmark_tree(parts)
    if not tree:
        if "/Outlines" in document.Root:
            del document.Root.Outlines
        return

    def add(items: list[Any], parent: Any) -> tuple[list[Any], int]:
        made: list[Any] = []
        count = len(items)
        for title, (page, x, y), children, state in items:
            entry = document.make_indirect(
                pikepdf.Dictionary(
                    Title=pikepdf.String(title), Dest=pikepdf.Array([pages[page], pikepdf.Name.XYZ, x, y, 0])
                )
            )
            child_entries, child_count = add(children, entry)
            entry.Count = -child_count if state == "closed" else child_count
            if state != "closed":
                count += child_count
            if child_entries:
                entry.First, entry.Last = child_entries[0], child_entries[-1]
            if made:
                entry.Prev = made[-1]
                made[-1].Next = entry
            entry.Parent = parent
            made.append(entry)
        return made, count

    outlines = document.make_indirect(pikepdf.Dictionary())
    entries, count = add(tree, outlines)
    outlines.Count, outlines.First, outlines.Last = count, entries[0], entries[-1]
    document.Root.Outlines = outlines
