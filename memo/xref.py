"""Cross-references and the generated contents: what a template can point at by name, resolved once the whole page
is written.

A template places numbered things (charts with ``chart()``, tables with ``table_caption()``) and sections (a
``<section id=...>`` whose heading is an ``<h2>``), and refers to any of them with ``ref(name)``. A reference may come
before its target, so ``ref()`` and ``contents()`` leave a marker in the page and :meth:`References.resolve` fills
the markers in from the finished HTML: the label ("Figure 7", "Table 3", the section's title), a link, and in the PDF
the page (the stylesheet's ``target-counter``). A reference to a name nothing placed fails the build, naming the
template file and line of the reference.
"""

from __future__ import annotations

import html
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from markupsafe import Markup

from memo.errors import MemoError

CONTENTS_MARK = "<!--memo:contents-->"
_REF_MARK = re.compile(r"<!--memo:ref:(\d+)-->")


@dataclass(frozen=True)
class Target:
    kind: str  # "figure", "table" or "section"
    anchor: str  # the id in the page
    label: str  # what a reference prints: "Figure 7", "Table 3", the section's title
    where: str  # template file:line that placed it ("" for sections, found in the page)


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str  # plain text of the heading
    heading: Markup  # the heading's own markup, for the contents


@dataclass
class References:
    templates_dir: Path
    targets: dict[str, Target] = field(default_factory=dict)
    pending: list[tuple[str, str]] = field(default_factory=list)  # (name, where) per ref() call, in order
    tables: int = 0

    # ---------------------------------------------------------------- what templates place and ask for

    def place(self, name: str, kind: str, anchor: str, label: str) -> None:
        where = self.caller()
        first = self.targets.get(f"{kind}:{name}")
        if first is not None:
            raise MemoError(f"{where}: error: template: {kind} {name!r} is placed twice (first at {first.where})")
        self.targets[f"{kind}:{name}"] = Target(kind, anchor, label, where)

    def table(self, name: str) -> tuple[str, int]:
        """A new numbered table: its anchor and number."""
        _check_name(name, self.caller())
        self.tables += 1
        anchor = f"tab-{name}"
        self.place(name, "table", anchor, f"Table {self.tables}")
        return anchor, self.tables

    def ref(self, name: str) -> Markup:
        self.pending.append((name, self.caller()))
        return Markup(f"<!--memo:ref:{len(self.pending) - 1}-->")

    def caller(self) -> str:
        """file:line of the innermost template frame on the stack: where a helper was called from."""
        frame = sys._getframe(1)
        while frame is not None:
            template = frame.f_globals.get("__jinja_template__")
            if template is not None and template.filename:
                line = template.get_corresponding_lineno(frame.f_lineno)
                return f"{shown(Path(template.filename), self.templates_dir)}:{line}"
            frame = frame.f_back
        return "templates"

    # ---------------------------------------------------------------- filling in the page

    def resolve(self, page: str) -> str:
        sections = _sections(page)
        targets = dict(self.targets)
        for section in sections:
            targets[f"section:{section.anchor}"] = Target("section", section.anchor, section.title, "")
        page = page.replace(CONTENTS_MARK, _contents(sections))
        links = [_link(_target(name, where, targets)) for name, where in self.pending]
        return _REF_MARK.sub(lambda m: links[int(m.group(1))], page)


KINDS = ("figure", "table", "section")


def _target(name: str, where: str, targets: dict[str, Target]) -> Target:
    """What ``ref(name)`` points at: ``kind:name``, or a bare name that only one kind uses."""
    if name in targets:
        return targets[name]
    found = [targets[f"{kind}:{name}"] for kind in KINDS if f"{kind}:{name}" in targets]
    if len(found) == 1:
        return found[0]
    if found:
        choices = " or ".join(f"ref('{t.kind}:{name}')" for t in found)
        raise MemoError(
            f"{where}: error: template: ref({name!r}) could mean a {' or a '.join(t.kind for t in found)}; write {choices}"
        )
    from memo.errors import did_you_mean

    known = sorted({key.split(":", 1)[1] for key in targets})
    raise MemoError(
        f"{where}: error: template: ref({name!r}) names no chart, table or section"
        + did_you_mean(name.split(":")[-1], known)
    )


def _link(target: Target) -> str:
    anchor, label = html.escape(target.anchor), html.escape(target.label)
    return f'<a class="xref xref-{target.kind}" href="#{anchor}">{label}</a>'


def _check_name(name: str, where: str) -> None:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", name or ""):
        raise MemoError(
            f"{where}: error: template: {name!r} cannot name a table: use letters, digits, '_', '.' and '-'"
        )


def shown(path: Path, templates_dir: Path) -> str:
    """A template's path as the author knows it: from the project folder (templates/sections/x.html.j2)."""
    try:
        return path.resolve().relative_to(templates_dir.resolve().parent).as_posix()
    except ValueError:
        return path.name


def _contents(sections: list[Section]) -> str:
    items = "".join(f'<li><a href="#{html.escape(s.anchor)}">{s.heading}</a></li>' for s in sections)
    return f'<ol class="contents">{items}</ol>'


class _SectionScanner(HTMLParser):
    """The sections of a page, in order: a <section> with an id whose first heading is an <h2>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.sections: list[Section] = []
        self.open: list[str | None] = []  # the id of each open <section>, or None once its heading is taken
        self.heading: list[str] | None = None  # the raw markup of the <h2> being read
        self.text: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.open.append(dict(attrs).get("id"))
        elif tag == "h2" and self.open and self.open[-1] and self.heading is None:
            self.heading, self.text = [], []
        elif self.heading is not None:
            self.heading.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.open:
            self.open.pop()
        elif tag == "h2" and self.heading is not None:
            anchor = self.open[-1] or ""
            title = re.sub(r"\s+", " ", html.unescape("".join(self.text))).strip()
            self.sections.append(Section(anchor, title, Markup("".join(self.heading).strip())))
            self.open[-1] = None
            self.heading = None
        elif self.heading is not None:
            self.heading.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.heading is not None:
            self.heading.append(data)
            self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.handle_data(f"&#{name};")


def _sections(page: str) -> list[Section]:
    scanner = _SectionScanner()
    scanner.feed(page)
    scanner.close()
    return scanner.sections


__all__ = ["CONTENTS_MARK", "References"]
