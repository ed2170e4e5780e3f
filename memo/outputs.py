"""Write a build's outputs atomically: everything is staged first, then moved into place.

A build that fails before this point writes nothing, so the previous build's files stay intact. Files whose
bytes have not changed are left untouched (same mtime), so tools watching the output see only real changes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memo.build import RenderedMemo


def write_outputs(out_dir: Path, files: Mapping[str, bytes]) -> list[str]:
    """Write ``files`` (relative path -> bytes) under ``out_dir``; return the paths whose bytes changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        changed: list[str] = []
        for relative, data in files.items():
            target = out_dir / relative
            if target.is_file() and target.read_bytes() == data:
                continue
            staged = staging / relative
            staged.parent.mkdir(parents=True, exist_ok=True)
            with open(staged, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            changed.append(relative)
        for relative in changed:
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
        return changed
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def files_of(
    memo: RenderedMemo, data: dict[str, Any], pdf_bytes: bytes, artefacts: dict[str, bytes], assumptions_yaml: bytes
) -> dict[str, bytes]:
    """Every file a build writes, by path in the output directory (the site under site/)."""
    from memo import figures as figures_json
    from memo import fonts, site

    figures_bytes = figures_json.dumps(data)
    chart_svgs = {name: chart.svg.encode("utf-8") for name, chart in memo.charts.items()}
    font_files = {font.name: font.path.read_bytes() for font in fonts.font_files()} | fonts.licenses()
    site_files = site.files(
        meta=memo.assumptions.memo,
        figures=memo.figures,
        memo_html=memo.html,
        index_html=memo.index_html,
        pdf_bytes=pdf_bytes,
        payload=data,
        figures_json=figures_bytes,
        chart_svgs=chart_svgs,
        font_files=font_files,
        assumptions_yaml=assumptions_yaml,
        base_url=memo.document.base_url,
        artefacts=artefacts,
        scenario=memo.document.scenario,
        settings=memo.project.settings,
    )
    return {
        "figures.json": figures_bytes,
        "memo.html": memo.html.encode("utf-8"),
        "memo.pdf": pdf_bytes,
        **{f"charts/{name}.vl.json": chart.spec_json for name, chart in memo.charts.items()},
        **{f"charts/{name}.svg": svg for name, svg in chart_svgs.items()},
        **{f"fonts/{name}": data for name, data in font_files.items()},
        **{path: site_files[path] for path in site_files if path.startswith("assets/")},
        **{name: site_files[name] for name in ("favicon.svg", "social.png", "feed.xml")},
        **{f"site/{path}": data for path, data in site_files.items()},
    }
