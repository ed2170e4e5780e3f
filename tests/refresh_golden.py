"""Rewrite the expected figures of every golden case from the current model.

Run after an intended model change, then review the diff of tests/data/cases/*.expected.json before committing:

    python tests/refresh_golden.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CASES = Path(__file__).parent / "data" / "cases"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bundled import compute, read_inputs  # noqa: E402


def expected_figures(case: Path) -> dict[str, dict[str, float]]:
    figures, _ = compute(read_inputs(case).assumptions)
    out: dict[str, dict[str, float]] = {}
    for name, figure in figures.items():
        entry = {"value": figure.value}
        if figure.low is not None:
            entry |= {"low": figure.low, "high": figure.high}
        out[name] = entry
    return out


def main() -> None:
    for case in sorted(CASES.glob("*.yaml")):
        target = case.with_suffix(".expected.json")
        target.write_text(json.dumps(expected_figures(case), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}")


if __name__ == "__main__":
    main()
