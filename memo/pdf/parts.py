"""The PDF of memo.html laid out in two parts at once, one per core, and joined.

WeasyPrint lays a document out on one core, and after any edit it lays out every page again. A memo whose chapters
each start a new page can be cut between two of them (:mod:`memo.pdf.split`) into two documents that WeasyPrint lays
out side by side: this process forks a helper for the second part and makes the first itself. The parts agree on
their page numbers while they are laid out (:mod:`memo.pdf.part`), write a PDF each, and the two are joined
(:mod:`memo.pdf.join`). The forked helper shares the imported WeasyPrint and its fonts, so it starts at once.

The same HTML is always cut at the same place and the parts settle on the same page numbers whatever they started
from, so the bytes depend on the HTML alone, as the whole-document PDF's do. What starts them is a plan: the page of
each anchor a part prints, from the build before (kept in the cache) or estimated from where it sits in the HTML. A
good plan saves re-making the pages that print those numbers; a bad one costs only that.

Anything the parts cannot do (no place to cut, a stylesheet whose pages depend on their place in the document, no
``os.fork``, an anchor that lays out nowhere) sends the page down the whole-document path, which also reports any
error the usual way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from memo.pdf import part, split

_BYTES_PER_PAGE = 18_000  # HTML per printed page, for a plan when no build came before


def available() -> bool:
    """Whether a page may be made in parts here: a fork (POSIX), and not turned off (MEMO_PDF_PARTS=0)."""
    return hasattr(os, "fork") and os.environ.get("MEMO_PDF_PARTS", "") != "0"


def write(html: str, *, out_dir: Path, project_dir: Path, as_of: dt.date, store: Any) -> bytes | None:
    """The PDF of ``html`` (memo.html as printed) made in two parts, or None when it cannot be."""
    if not available():
        return None
    page = split.page(html)
    if page is None:
        return None
    from weasyprint.urls import FatalURLFetchingError

    try:
        return _write(page, out_dir.resolve(), project_dir.resolve(), as_of, store)
    except (Exception, FatalURLFetchingError) as exc:  # the whole-document path makes it, or reports the error
        if os.environ.get("MEMO_DEBUG"):
            print(f"memo: the PDF is laid out whole: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def _write(page: split.Page, base: Path, project: Path, as_of: dt.date, store: Any) -> bytes | None:
    from memo.pdf import join

    halves = page.halves(_forced_breaks(page, base, project, store))
    if halves is None:
        return None
    first, second = halves
    plan_key = _plan_key(page)
    made = _lay_out_both(
        first, second, _plan(store, plan_key, first, second), base=base, project=project, as_of=as_of, store=store
    )
    data = join.join(*made, held=(first.anchors, second.anchors))
    if store is not None:
        settled = {**made[0].asked, **made[1].asked, "": made[0].pages}
        store.put("pdf-plan", plan_key, json.dumps(settled, sort_keys=True).encode())
    return data


def _forced_breaks(page: split.Page, base: Path, project: Path, store: Any) -> list[bool]:
    from memo.cache import key
    from memo.pdf import renderer_versions

    skeleton = page.skeleton()
    digest = key(renderer_versions(), str(base), str(project), skeleton)
    found = store.get("pdf-breaks", digest) if store is not None else None
    if found is not None:
        return json.loads(found)
    forced = part.forced_breaks(skeleton, base=base, project_dir=project)
    if store is not None:
        store.put("pdf-breaks", digest, json.dumps(forced).encode())
    return forced


def _plan_key(page: split.Page) -> str:
    from memo.cache import key

    return key("pdf-plan", page.head)


def _plan(store: Any, plan_key: str, first: split.Part, second: split.Part) -> dict[str, int]:
    """Where the parts' anchors fell in the build before, else an estimate by their place in the HTML."""
    found = store.get("pdf-plan", plan_key) if store is not None else None
    if found is not None:
        return json.loads(found)
    plan = {"": max(1, round(len(first.html) / _BYTES_PER_PAGE))}
    for held, before, html in ((first.anchors, 0, first.html), (second.anchors, plan[""], second.html)):
        for name in held:
            plan[name] = 1 + before + html.find(f'id="{name}"') // _BYTES_PER_PAGE
    return plan


def _lay_out_both(
    first: split.Part,
    second: split.Part,
    plan: dict[str, int],
    *,
    base: Path,
    project: Path,
    as_of: dt.date,
    store: Any,
) -> tuple[part.Made, part.Made]:
    """The first part made here and the second in a forked helper, at the same time."""
    from multiprocessing import Pipe

    here, there = Pipe()
    arguments = {"base": base, "project_dir": project, "as_of": as_of, "store": store}
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:
        raise part.Unsettled(f"no helper process: {exc}") from None
    if pid == 0:  # the helper: lays out the second part, sends what it made, and leaves without cleaning up
        code = 1
        try:
            _die_with(parent)
            here.close()
            links = frozenset(second.refs) & first.anchors
            state = part.PartState(True, there, first.anchors, links, plan, first.footnotes, offset=plan[""])
            there.send(("made", part.make(second.html, state, **arguments)))
            code = 0
        except BaseException as exc:
            with contextlib.suppress(Exception):
                there.send(("failed", f"{type(exc).__name__}: {exc}"))
        finally:
            os._exit(code)
    there.close()
    try:
        links = frozenset(first.refs) & second.anchors
        state = part.PartState(False, here, second.anchors, links, plan, footnotes_before=0)
        made = part.make(first.html, state, **arguments)
        if not here.poll(part.PATIENCE):
            raise part.Unsettled("the second part was not made in time")
        kind, body = here.recv()
    except (EOFError, OSError) as exc:
        raise part.Unsettled(f"the second part's helper stopped: {exc}") from None
    finally:
        here.close()
        _reap(pid)
    if kind != "made":
        raise part.Unsettled(body)
    return made, body


def _die_with(parent: int) -> None:
    """The helper is killed when the process that forked it dies (as a stopped build kills its PDF worker), where
    the system can say so (Linux's PR_SET_PDEATHSIG); elsewhere it stops at its next word with the first part."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def _reap(pid: int) -> None:
    """Wait for the helper; it leaves as soon as its part is sent, or once this end is closed."""
    with contextlib.suppress(ChildProcessError):
        for _ in range(50):
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
