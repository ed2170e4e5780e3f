"""Inputs stage: the assumptions file read and validated against the project's model, with ``--set`` applied,
and kept as filed beside it (its sourced inputs are the values the source gives)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from memo import load, model, validate
from memo.errors import Diagnostic, InputError, MemoError


@dataclass(frozen=True)
class Inputs:
    """Everything a build reads, validated: the assumptions with ``--set`` applied, and the file as it stands
    (``as_filed``), whose sourced inputs are the values the source gives."""

    document: load.Document
    assumptions: validate.Assumptions
    as_filed: validate.Assumptions


def read_inputs(
    assumptions_path: Path, spec: model.Spec, overrides: Sequence[str] = (), display_name: str | None = None
) -> Inputs:
    document = load.load_file(assumptions_path, display_name)
    as_filed = copy.deepcopy(document) if overrides else document
    problems: list[Diagnostic] = []
    for index, assignment in enumerate(overrides, start=1):
        try:
            document.override(assignment, index)
        except InputError as exc:
            problems += exc.diagnostics
    try:
        assumptions = validate.validate(document, spec)
    except InputError as exc:
        problems += exc.diagnostics
    if problems:
        raise InputError(problems)
    filed = assumptions if as_filed is document else validate.validate(as_filed, spec)
    return Inputs(document, assumptions, filed)


def with_scenario(assumptions: validate.Assumptions, name: str | None) -> validate.Assumptions:
    """The assumptions with a named scenario's replacements made the inputs themselves (``--scenario``)."""
    if name is None:
        return assumptions
    if name not in assumptions.scenarios:
        known = ", ".join(assumptions.scenarios) or "none defined"
        raise MemoError(f"error: unknown scenario {name!r} (scenarios: {known})")
    scenario = assumptions.scenarios[name]
    inputs = dict(assumptions.inputs)
    for key, value in scenario.overrides.items():
        note = f"Set by the {name} scenario: {scenario.rationale}"
        inputs[key] = dataclasses.replace(inputs[key], base=value, low=None, high=None, note=note)
    return dataclasses.replace(assumptions, inputs=inputs)


def quantities(assumptions: validate.Assumptions) -> dict[str, model.Quantity]:
    """The inputs as the model reads them: numbers (dates as day numbers), ranges and estimate marks."""
    return {
        name: model.Quantity(item.number, item.low, item.high, item.estimate)
        for name, item in assumptions.inputs.items()
    }


def assumptions_source(path: Path, document: load.Document, overrides: Sequence[str]) -> bytes:
    """The assumptions a reader needs to rebuild this memo: the file itself, or, when --set changed it, the file
    as changed (comments are lost in that case, the values are not)."""
    if not overrides:
        return load.read_bounded(path)
    import yaml

    header = "# " + path.name + " with " + ", ".join(f"--set {o}" for o in overrides) + "\n"
    return (header + yaml.safe_dump(document.data, sort_keys=False, allow_unicode=True)).encode("utf-8")
