"""memo diff: what an assumption edit changed between two builds: inputs, figures, prose, charts and PDF pages.

The modules depend one way only: :mod:`~memo.review.sides` resolves OLD and NEW (build directories, assumptions
files built on the fly, git revisions, PDFs); :mod:`~memo.review.changes` compares two sides and
:mod:`~memo.review.pages` aligns and compares their PDF pages; :mod:`~memo.review.report` shows the result (the
terminal summary, changes.json and the review page); this package's :func:`run` ties them together.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from memo.review.annotate import SummaryJob, start_summary
from memo.review.changes import Changes, compare
from memo.review.report import checked_out, summary, write
from memo.review.sides import DiffTrouble, resolved, use_recorded_units

__all__ = ["Changes", "DiffTrouble", "compare", "run", "summary", "write"]


STAGES = ("old side", "new side", "compare", "pages", "write")  # in the order they run


def run(
    specs: list[tuple[str, str]],
    out_dir: Path,
    project_root: Path | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[Changes, list[str]]:
    """Resolve both sides, compare them and write the review page and changes.json; returns the changes and the
    files written. Numbers print in the units the two builds recorded (figures.json ``units``), so a project's own
    units read as in its memo. ``out_dir`` is checked first, before any side is built. ``on_stage`` hears the end
    of each of :data:`STAGES`."""
    mark = on_stage or (lambda stage: None)
    checked_out(out_dir, project_root)
    with ExitStack() as stack:
        (old_spec, old_kind), (new_spec, new_kind) = specs
        old = stack.enter_context(resolved(old_spec, "OLD", old_kind, project_root))
        mark("old side")
        new = stack.enter_context(resolved(new_spec, "NEW", new_kind, project_root))
        mark("new side")
        use_recorded_units(old, new)
        if (old.figures_data is None) != (new.figures_data is None):
            raise DiffTrouble("memo diff: compare two PDFs, or two builds (directories, assumptions files, revisions)")
        jobs: list[SummaryJob] = []

        def start(found: Changes) -> None:
            job = start_summary(found)
            if job is not None:
                jobs.append(job)
                stack.callback(job.cancel)

        changes = compare(old, new, on_stage=mark, before_pages=start)
        written = write(changes, out_dir, jobs[0] if jobs else None)
        mark("write")
        return changes, written
