"""memo build's PDF worker gives what the PDF stage gives in the build's own process, errors included."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from memo import pdf, pdfworker
from memo.cache import Cache

AS_OF = dt.date(2026, 5, 16)
PAGE = '<!doctype html>\n<html lang="en">\n<head><title>t</title></head>\n<body><p>{}</p></body>\n</html>\n'


@pytest.fixture(scope="module")
def worker() -> Iterator[pdfworker.PdfWorker]:
    with pdfworker.PdfWorker.start() as started:
        yield started


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, object]:
    out = tmp_path / "build"
    out.mkdir()
    return {"out_dir": out, "project_dir": tmp_path, "as_of": AS_OF, "store": Cache(tmp_path / "cache")}


def test_the_worker_makes_the_same_bytes_as_this_process(worker: pdfworker.PdfWorker, folders: dict) -> None:
    html = PAGE.format("made in a second process")
    made = worker.submit(html, **folders)()
    assert made.startswith(b"%PDF-") and made == pdfworker.InProcess().submit(html, **folders)()
    assert worker.submit(PAGE.format("and again"), **folders)().startswith(b"%PDF-")  # one worker, many requests


def test_a_refused_url_in_the_worker_is_the_same_error(worker: pdfworker.PdfWorker, folders: dict) -> None:
    html = PAGE.format('x<img src="../../secret.txt">')
    with pytest.raises(pdf.RefusedURL, match=r"secret.txt; only files inside the project may be read"):
        worker.submit(html, **folders)()


def test_a_worker_that_stopped_leaves_the_pdf_to_this_process(folders: dict) -> None:
    stopped = pdfworker.PdfWorker.start()
    stopped.close()
    html = PAGE.format("the worker is gone")
    assert stopped.submit(html, **folders)() == pdfworker.InProcess().submit(html, **folders)()
    missing = pdfworker.PdfWorker(None)  # no process could be started
    assert missing.submit(html, **folders)() == pdfworker.InProcess().submit(html, **folders)()


def test_the_worker_is_told_the_language_of_the_last_build(tmp_path: Path) -> None:
    page = tmp_path / "memo.html"
    page.write_text('<!DOCTYPE html>\n<html lang="de-CH" class="x">\n<head>', encoding="utf-8")
    assert pdfworker.languages_of(page) == ["de-CH"]
    assert pdfworker.languages_of(tmp_path / "none.html") == []
    page.write_text('<html lang="x" onload="y"><p lang="fr">', encoding="utf-8")
    assert pdfworker.languages_of(page) == ["x"]


def test_the_import_thread_loads_the_hyphenation_patterns_the_layout_would() -> None:
    import subprocess
    import sys

    code = (
        "import pyphen; from memo import pdf; pdf.start_renderer(languages=['en', 'xx-none']).join(); "
        "print(sorted(str(p) for p in pyphen.hdcache))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    import pyphen

    assert shown.strip() == repr([str(pyphen.LANGUAGES[pyphen.language_fallback("en")])])
