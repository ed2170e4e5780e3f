"""Seconds until the HTML is ready when a warm process (as under ``memo serve``) rebuilds after the token price is
edited. Run with a tree's own Python and PYTHONPATH: ``python warm_preview.py TREE FOLDER PRICE PRICE``; prints
the seconds of the second edit. The first build warms the process (with a warm cache its charts and PDF come from
it), the first edit warms what only a redrawn chart needs (vl-convert's engine); each edit stops once its HTML is
rendered, where memo serve shows it, so the PDF it would render next is not waited for."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable
from pathlib import Path

Rebuild = Callable[[Callable[[str, float], None] | None], object]


class HtmlReady(Exception):
    pass


def with_price(assumptions: str, price: object) -> str:
    """An assumptions file's text with the token price set to ``price``: the benchmarks' one-input edit."""
    return re.sub(r"(price:\n    value: )[\d.]+", rf"\g<1>{price}", assumptions)


def builder(root: Path, assumptions: Path, out: Path) -> Rebuild:
    """A build of ``assumptions`` into ``out`` with the API of the tree's memo."""
    from memo.build import build

    try:
        from memo.options import BuildOptions
        from memo.project import load_project
    except ImportError:  # before memo.options (e09ff21 and older): build(assumptions, out, ...)
        return lambda on_stage: build(assumptions, out, on_stage=on_stage)
    options = BuildOptions.of(assumptions, out, load_project(root))
    return lambda on_stage: build(options, on_stage=on_stage)


def main() -> None:
    root, folder, prices = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    folder.mkdir(parents=True)
    assumptions = folder / "assumptions.yaml"
    text = (root / "assumptions.yaml").read_text()
    assumptions.write_text(text)
    rebuild = builder(root, assumptions, folder / "build")
    rebuild(None)
    seconds: dict[str, float] = {}

    def on_stage(stage: str, at: float) -> None:
        if stage == "html":
            seconds["html"] = at
            raise HtmlReady

    for price in prices:
        assumptions.write_text(with_price(text, price))
        with contextlib.suppress(HtmlReady):
            rebuild(on_stage)
    print(f"{seconds['html']:.4f}")


if __name__ == "__main__":
    main()
