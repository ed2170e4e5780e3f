"""The project: the folder that holds everything about a memo's subject, found the way git and mkdocs find theirs.

A project folder holds the project file ``memo.yml`` (what the engine cannot guess: the tornado's targets, the
explorer's sliders, the social card, the feed), the model file (units, inputs, figures as formulas), the
assumptions file, ``templates/`` (with ``content/`` YAML), ``charts/``, ``styles/`` and ``assets/``. Every command
finds it from the working directory upward, or takes ``--project DIR``. Both project files are validated like the
assumptions: every problem at once, each at its ``file:line:col`` with its key, unknown keys with did-you-mean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from memo import expr, load, schema
from memo.cache import files_digest
from memo.errors import Diagnostic, InputError, MemoError, did_you_mean
from memo.model import FigureDef, ModelError, Spec, evaluation_order
from memo.quick import NOT_SOURCES  # Python's bytecode and memo's cache: never a project's source files
from memo.quick import find_project as find  # the nearest folder at or above a start that holds a project file
from memo.terminal import display  # used here, and imported from here by the commands
from memo.validate import Checker

PROJECT_FILE = schema.PROJECT_FILE
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DOTTED = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)\}")
RESERVED_PREFIXES = ("scenario.", "uncertainty.")  # the analysis publishes figures under these


@dataclass(frozen=True)
class Driver:
    """One slider of the explorer: it moves ``input`` (in model units, ``scale`` per slider unit)."""

    input: str
    param: str
    label: str
    scale: float  # model units per slider unit (a slider in $M drives an input in dollars)
    minimum: float
    maximum: float
    step: float


@dataclass(frozen=True)
class Tile:
    label: str
    figure: str


@dataclass(frozen=True)
class Settings:
    """What ``memo.yml`` says; every key has a default, so an empty project file is a valid one."""

    assumptions: str = "assumptions.yaml"
    model: str = "model.yaml"
    sources: tuple[str, ...] = ()
    tornado: tuple[str, ...] = ()
    drivers: tuple[Driver, ...] = ()
    shown: tuple[str, ...] = ()
    kicker: str | None = None
    tiles: tuple[Tile, ...] = ()
    summary: str | None = None
    base_url: str | None = None


class Project:
    """A memo project: its folder, its settings and its model.

    Built from a folder alone (``Project(root)``), the two project files are read and validated when first needed:
    a build that turns out to be up to date never parses the model. ``load_project`` validates at once."""

    def __init__(self, root: Path, settings: Settings | None = None, model: Spec | None = None) -> None:
        self.root = root
        if settings is not None and model is not None:
            self.__dict__["_validated"] = (settings, model)

    @cached_property
    def _validated(self) -> tuple[Settings, Spec]:
        loaded = load_project(self.root)
        return loaded.settings, loaded.model

    @property
    def settings(self) -> Settings:
        return self._validated[0]

    @property
    def model(self) -> Spec:
        return self._validated[1]

    @cached_property
    def _paths(self) -> tuple[str, str]:
        """The assumptions and model file names memo.yml gives, read without validating it (for the no-op check;
        validation reports any problem with them)."""
        if "_validated" in self.__dict__:
            return self.settings.assumptions, self.settings.model
        try:
            return _file_names(load.load_file(self.project_file))
        except InputError:
            return _file_names(None)

    @property
    def project_file(self) -> Path:
        return self.root / PROJECT_FILE

    @cached_property
    def base_url(self) -> str | None:
        """memo.yml's base_url, read without validating the project when it has not been (a build that is up to
        date needs it for its key); a value validation would refuse reads as none, and validation says why."""
        if "_validated" in self.__dict__:
            return self.settings.base_url
        try:
            doc = load.load_file(self.project_file)
        except InputError:
            return None
        return _base_url(doc.data.get("base_url") if isinstance(doc.data, dict) else None)

    @property
    def model_file(self) -> Path:
        return self.root / self._paths[1]

    @property
    def assumptions(self) -> Path:
        return self.root / self._paths[0]

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def charts(self) -> Path:
        return self.root / "charts"

    @property
    def stylesheet(self) -> Path:
        return self.root / "styles" / "memo.css"

    @property
    def assets(self) -> Path:
        return self.root / "assets"

    @property
    def source_roots(self) -> tuple[Path, ...]:
        """The folders the build reads besides the assumptions (and the live preview watches)."""
        return (self.templates, self.charts, self.stylesheet.parent, self.assets)

    def source_files(self) -> list[Path]:
        files = [self.project_file, self.model_file]
        return files + sorted(
            p
            for root in self.source_roots
            if root.is_dir()
            for p in root.rglob("*")
            if p.is_file() and not NOT_SOURCES.intersection(p.relative_to(root).parts)
        )

    def source_digest(self) -> str:
        return files_digest(self.source_files(), self.root)


# ------------------------------------------------------------------ finding a project


def locate(explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """The project folder a command works on: ``--project DIR``, or the nearest one above the working directory."""
    if explicit is not None:
        folder = Path(explicit)
        if not (folder / PROJECT_FILE).is_file():
            raise MemoError(f"memo: {folder}: no {PROJECT_FILE} here (--project names the folder holding it)")
        return folder.resolve()
    start = cwd or Path.cwd()
    found = find(start)
    if found is None:
        raise MemoError(
            f"memo: no {PROJECT_FILE} in {start} or any folder above it; run memo inside a memo project, "
            "pass --project DIR, or start one with memo new DIR"
        )
    return found


# ------------------------------------------------------------------ loading and validating


def load_project(root: Path) -> Project:
    """Read and validate the project file and the model file; raise InputError listing every problem in both."""
    root = root.resolve()
    problems: list[Diagnostic] = []
    project_doc = _read(root / PROJECT_FILE, problems, empty_ok=True)
    settings_check = Checker(project_doc) if project_doc else None
    model_doc = _read(root / _file_names(project_doc)[1], problems)
    spec = None
    if model_doc is not None:
        model_check = Checker(model_doc)
        spec = _validate_model(model_check, model_doc.data)
        problems += model_check.problems
    settings = Settings()
    if settings_check is not None:
        names = _declared_names(model_doc) if spec is None else (set(spec.figure_names), set(spec.inputs))
        settings = _validate_settings(settings_check, project_doc.data, names)
        problems += settings_check.problems
    if problems or spec is None:
        raise InputError(problems)
    return Project(root, settings, spec)


def _read(path: Path, problems: list[Diagnostic], empty_ok: bool = False) -> load.Document | None:
    name = display(path)
    try:
        text = load.decode(load.read_bounded(path, name), name)
        if empty_ok and not text.strip(" \t\r\n"):
            return load.Document(name, {})
        return load.load_text(text, name)
    except InputError as exc:
        problems += exc.diagnostics
        return None


def _file_names(doc: load.Document | None) -> tuple[str, str]:
    """The assumptions and model file names a project file gives, the defaults where it gives none (or nonsense,
    which its validation reports)."""
    data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
    given = [data.get("assumptions"), data.get("model")]
    defaults = (Settings.assumptions, Settings.model)
    assumptions, model = (g if isinstance(g, str) else d for g, d in zip(given, defaults, strict=True))
    return assumptions, model


def _base_url(value: Any) -> str | None:
    from memo.options import base_url_problem

    return value if isinstance(value, str) and base_url_problem(value) is None else None


def _validate_model(check: Checker, data: Any) -> Spec | None:
    root = check.keyed(data, (), schema.MODEL_KEYS, "a mapping with units, inputs and figures")
    if root is None or not check.sizes(root):
        return None
    units = dict(schema.ENGINE_UNITS)
    for name, value in (_section(check, root, "units") or {}).items():
        unit = _validate_unit(check, name, value, ("units", name))
        if unit is not None:
            units[name] = unit
    inputs: dict[str, schema.InputSpec] = {}
    declared = _section(check, root, "inputs") or {}
    for name, value in declared.items():
        spec = _validate_input_spec(check, name, value, ("inputs", name), units)
        if spec is not None:
            inputs[name] = spec
    # formulas are checked against every input declared, so one bad input entry is one error, not one per use
    figures = _validate_figures(check, _section(check, root, "figures") or {}, declared, units)
    if check.problems:
        return None
    _check_signs(check, figures, inputs, units)
    if check.problems:
        return None
    return Spec(units, inputs, figures)


def _section(check: Checker, root: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    if key not in root:
        return None
    return check.mapping(root[key], (key,), f"a mapping of names to {key}")


def _name(check: Checker, name: str, path: load.Path_, pattern: re.Pattern[str], example: str) -> bool:
    if pattern.fullmatch(name):
        return True
    check.error(path, f"'{name}' is not a valid name (lower-case words joined by _, e.g. {example})", of_key=True)
    return False


def _validate_unit(check: Checker, name: str, value: Any, path: load.Path_) -> schema.Unit | None:
    if not _name(check, name, path, _NAME, "usd_per_seat"):
        return None
    if name in schema.ENGINE_UNITS:
        check.error(path, f"'{name}' is one of the engine's units; give the project's own another name", of_key=True)
        return None
    fields = check.keyed(value, path, schema.UNIT_KEYS, "a mapping with label and format")
    if fields is None:
        return None
    label = check.text(fields.get("label"), (*path, "label")) if "label" in fields else None
    fmt = (
        check.choice(fields.get("format"), (*path, "format"), schema.FORMATS, "format") if "format" in fields else None
    )
    bounds: dict[str, float | None] = {"minimum": 0.0, "maximum": None}
    for key in bounds:
        if key in fields:
            bounds[key] = None if fields[key] is None else check.number(fields[key], (*path, key))
    if label is None or fmt is None:
        return None
    return schema.Unit(name, label, bounds["minimum"], bounds["maximum"], is_date=fmt == "date", format=fmt)


def _validate_input_spec(
    check: Checker, name: str, value: Any, path: load.Path_, units: Mapping[str, schema.Unit]
) -> schema.InputSpec | None:
    if not _name(check, name, path, _DOTTED, "customers.active"):
        return None
    if name.count(".") != 1:
        check.error(path, f"'{name}' must be group.name: one dot, the group a section of the assumptions", of_key=True)
        return None
    group = name.split(".", 1)[0]
    if group in schema.TOP_LEVEL_SECTIONS:
        check.error(path, f"'{group}' is a section of the assumptions file; choose another group", of_key=True)
        return None
    fields = check.keyed(value, path, schema.INPUT_SPEC_KEYS, "a mapping with unit and label")
    if fields is None:
        return None
    unit = check.choice(fields.get("unit"), (*path, "unit"), units, "unit") if "unit" in fields else None
    label = check.text(fields.get("label"), (*path, "label")) if "label" in fields else None
    flags = {k: check.boolean(fields[k], (*path, k)) for k in ("ranged", "positive") if k in fields}
    if unit is None or label is None or None in flags.values():
        return None
    return schema.InputSpec(name, unit, label, **{k: bool(v) for k, v in flags.items()})


def _validate_figures(
    check: Checker, section: Mapping[str, Any], inputs: Mapping[str, schema.InputSpec], units: Mapping[str, Any]
) -> tuple[FigureDef, ...]:
    definitions: list[FigureDef] = []
    names = set(section)
    for name, value in section.items():
        path = ("figures", name)
        if not _name(check, name, path, _DOTTED, "revenue.forward"):
            continue
        if name.startswith(RESERVED_PREFIXES):
            check.error(path, f"names starting {' or '.join(RESERVED_PREFIXES)} are the analysis's", of_key=True)
            continue
        fields = check.keyed(value, path, schema.FIGURE_KEYS, "a mapping with label, unit and formula")
        if fields is None:
            continue
        label = check.text(fields.get("label"), (*path, "label")) if "label" in fields else None
        unit = check.choice(fields.get("unit"), (*path, "unit"), units, "unit") if "unit" in fields else None
        formula = check.text(fields.get("formula"), (*path, "formula")) if "formula" in fields else None
        if formula is not None and not _formula_ok(check, name, formula, (*path, "formula"), names, inputs):
            formula = None
        if label is not None and unit is not None and formula is not None:
            definitions.append(FigureDef(name, label, unit, formula))
    if len(definitions) == len(section):
        try:
            evaluation_order(tuple(definitions))
        except ModelError as exc:
            check.error(("figures",), str(exc), of_key=True)
    return tuple(definitions)


def _formula_ok(
    check: Checker, name: str, formula: str, path: load.Path_, figures: set[str], inputs: Mapping[str, Any]
) -> bool:
    try:
        parsed = expr.parse(formula)
    except expr.ExprError as exc:
        check.error(path, f"cannot read the formula: {exc}")
        return False
    ok = True
    for ref in parsed.names:
        if (ref in figures and ref != name) or ref in inputs:
            continue
        hint = _closest(ref, [*figures, *inputs])
        check.error(path, f"'{ref}' is neither a figure nor an input{hint}")
        ok = False
    return ok


class Signs:
    """The sign each figure is known to have for every legal input, with some inputs taken as positive."""

    def __init__(
        self,
        definitions: Mapping[str, FigureDef],
        inputs: Mapping[str, schema.InputSpec],
        units: Mapping[str, schema.Unit],
        assumed: frozenset[str] = frozenset(),
    ) -> None:
        self.definitions, self.inputs, self.units, self.assumed = definitions, inputs, units, assumed
        self._figures: dict[str, int] = {}

    def of_input(self, name: str) -> int:
        spec = self.inputs[name]
        unit = self.units[spec.unit]
        if spec.positive or name in self.assumed or unit.is_date or (unit.minimum or 0) > 0:
            return expr.POSITIVE
        return expr.NONNEGATIVE if unit.minimum is not None and unit.minimum >= 0 else expr.ANY

    def of_figure(self, name: str) -> int:
        if name not in self._figures:
            self._figures[name] = expr.ANY  # formulas are acyclic; a guard all the same
            self._figures[name] = expr.sign(_tree(self.definitions[name]), self.resolver(name))
        return self._figures[name]

    def resolver(self, own: str) -> Any:
        return lambda ref: self.of_figure(ref) if ref in self.definitions and ref != own else self.of_input(ref)

    def inputs_under(self, node: Any, own: str) -> list[str]:
        """The inputs a part of ``own``'s formula rests on, through other figures, in order of first appearance."""
        out: dict[str, None] = {}
        for ref in expr.names_in(node):
            if ref in self.definitions and ref != own:
                out.update(dict.fromkeys(self.inputs_under(_tree(self.definitions[ref]), ref)))
            elif ref in self.inputs:
                out.setdefault(ref, None)
        return list(out)


def _tree(definition: FigureDef) -> Any:
    import ast

    return ast.parse(definition.formula.strip(), mode="eval").body


def _check_signs(
    check: Checker,
    figures: tuple[FigureDef, ...],
    inputs: Mapping[str, schema.InputSpec],
    units: Mapping[str, schema.Unit],
) -> None:
    """Refuse a model in which an input the assumptions may set to 0 (or below) divides something, directly or
    through other figures: each such input must be declared ``positive: true``, so that 0 is refused where it is
    written. A divisor that no declaration can keep above 0 (a difference) is left to the evaluation, which
    refuses a figure that is not a finite number."""
    definitions = {d.name: d for d in figures}
    needs = [(d, need) for d in figures for need in expr.requirements(d.formula)]

    def unmet(assumed: list[str]) -> list[tuple[FigureDef, expr.Requirement]]:
        signs = Signs(definitions, inputs, units, frozenset(assumed))
        return [
            (d, need)
            for d, need in needs
            if expr.sign(need.node, signs.resolver(d.name)) < (expr.POSITIVE if need.strict else expr.NONNEGATIVE)
        ]

    declared: list[str] = []  # the inputs to declare positive, each asked for once
    while True:
        # the part with the fewest inputs to blame first: what it forces often keeps the others above 0 too
        signs = Signs(definitions, inputs, units, frozenset(declared))
        options = []
        for definition, need in unmet(declared):
            wanted = expr.POSITIVE if need.strict else expr.NONNEGATIVE
            under = signs.inputs_under(need.node, definition.name)
            candidates = [n for n in under if signs.of_input(n) < wanted]
            fewest = _fewest(need.node, definition.name, candidates, wanted, definitions, inputs, units, declared)
            if fewest:
                options.append(fewest)
        if not options:
            break
        declared += min(options, key=len)
    left = unmet(declared)  # what no declaration can fix: a difference, say; the evaluation guards those
    for name in list(reversed(declared)):  # drop what the others made unneeded
        rest = [n for n in declared if n != name]
        if len(unmet(rest)) == len(left):
            declared = rest
    for name in declared:
        definition, need = next(pair for pair in unmet([n for n in declared if n != name]) if pair not in left)
        check.error(("inputs", name), _sign_message(name, need, definition), of_key=True)


def _sign_message(name: str, need: expr.Requirement, definition: FigureDef) -> str:
    where = f"in figures.{definition.name} ({definition.formula})"
    if need.text == name:
        limit = "to 0" if need.strict else "below 0"
        problem = f"{name} {need.why} {where}, and the assumptions may set it {limit}"
    elif need.strict:
        problem = f"{name} at 0 can make {need.text} 0, which {need.why} {where}"
    else:
        problem = f"{name} below 0 can make {need.text} negative, which {need.why} {where}"
    return f"{problem}: declare it positive: true (the assumptions then cannot set it to 0 or below)"


def _fewest(
    node: Any,
    own: str,
    candidates: list[str],
    wanted: int,
    definitions: Mapping[str, FigureDef],
    inputs: Mapping[str, schema.InputSpec],
    units: Mapping[str, schema.Unit],
    already: list[str],
) -> list[str]:
    """The fewest of ``candidates`` that, declared positive (besides ``already``), give the part of ``own``'s
    formula the sign wanted (tried in order, each dropped when the rest suffice); none when all would not."""

    def enough(assumed: list[str]) -> bool:
        signs = Signs(definitions, inputs, units, frozenset([*already, *assumed]))
        return expr.sign(node, signs.resolver(own)) >= wanted

    if not candidates or not enough(candidates):
        return []
    kept = list(candidates)
    for name in candidates:
        rest = [n for n in kept if n != name]
        if enough(rest):
            kept = rest
    return kept


def _closest(name: str, known: list[str]) -> str:
    return did_you_mean(name, known)


def _declared_names(doc: load.Document | None) -> tuple[set[str] | None, set[str] | None]:
    """The figure and input names a model file declares, even when some of its entries are wrong (so memo.yml is
    checked against them in the same run); None when the file gives no such section."""
    data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
    sections = [data.get(key) for key in ("figures", "inputs")]
    figures, inputs = (set(section) if isinstance(section, dict) else None for section in sections)
    return figures, inputs


def _validate_settings(check: Checker, data: Any, names: tuple[set[str] | None, set[str] | None]) -> Settings:
    root = check.keyed(data, (), schema.PROJECT_KEYS, "a mapping of settings")
    if root is None or not check.sizes(root):
        return Settings()
    figures, inputs = names
    out: dict[str, Any] = {}
    for key in ("assumptions", "model"):
        if key in root:
            out[key] = check.text(root[key], (key,))
    if "base_url" in root and (url := check.text(root["base_url"], ("base_url",))) is not None:
        from memo.options import base_url_problem

        problem = base_url_problem(url)
        if problem is not None:
            check.error(("base_url",), f"{problem}; give an absolute URL like https://example.org/memo/")
        out["base_url"] = url if problem is None else None
    if "sources" in root:
        out["sources"] = tuple(_texts(check, root["sources"], ("sources",), "a list of folders"))
    if "tornado" in root:
        out["tornado"] = _names(check, root["tornado"], ("tornado",), figures, "figure")
    explorer = (
        check.keyed(root["explorer"], ("explorer",), schema.EXPLORER_KEYS, "a mapping") if "explorer" in root else None
    )
    if explorer:
        out["drivers"] = tuple(_drivers(check, explorer.get("drivers"), ("explorer", "drivers"), inputs))
        out["shown"] = _names(check, explorer.get("shown"), ("explorer", "shown"), figures, "figure")
    card = check.keyed(root["card"], ("card",), schema.CARD_KEYS, "a mapping") if "card" in root else None
    if card:
        if "kicker" in card:
            out["kicker"] = check.text(card["kicker"], ("card", "kicker"))
        if "tiles" in card:
            out["tiles"] = tuple(_tiles(check, card["tiles"], ("card", "tiles"), figures))
    feed = check.keyed(root["feed"], ("feed",), schema.FEED_KEYS, "a mapping") if "feed" in root else None
    if feed and "summary" in feed:
        summary = check.text(feed["summary"], ("feed", "summary"))
        if summary is not None and figures is not None:
            for ref in PLACEHOLDER.findall(summary):
                if ref not in figures:
                    check.error(("feed", "summary"), f"{{{ref}}} is not a figure{_closest(ref, sorted(figures))}")
        out["summary"] = summary
    return Settings(**{k: v for k, v in out.items() if v is not None})


def _texts(check: Checker, value: Any, path: load.Path_, what: str) -> list[str]:
    if not isinstance(value, list):
        check.error(path, f"must be {what}, got {type(value).__name__}")
        return []
    return [t for i, item in enumerate(value) if (t := check.text(item, (*path, i))) is not None]


def _names(check: Checker, value: Any, path: load.Path_, known: set[str] | None, kind: str) -> tuple[str, ...]:
    out = []
    for i, name in enumerate(_texts(check, value, path, f"a list of {kind} names")):
        if known is not None and name not in known:
            check.error((*path, i), f"no {kind} named '{name}'{_closest(name, sorted(known))}")
        else:
            out.append(name)
    return tuple(out)


def _drivers(check: Checker, value: Any, path: load.Path_, inputs: set[str] | None) -> list[Driver]:
    if not isinstance(value, list):
        check.error(path, "must be a list of sliders")
        return []
    out = []
    for i, entry in enumerate(value):
        item_path = (*path, i)
        fields = check.keyed(entry, item_path, schema.DRIVER_KEYS, "a mapping: input, param, label, min, max, step")
        if fields is None:
            continue
        name = _names(check, [fields["input"]], (*item_path, "input"), inputs, "input") if "input" in fields else ()
        param = check.text(fields.get("param"), (*item_path, "param")) if "param" in fields else None
        if param is not None and not _PARAM.fullmatch(param):
            check.error((*item_path, "param"), "must be letters, digits and _ (a Vega-Lite parameter name)")
            param = None
        label = check.text(fields.get("label"), (*item_path, "label")) if "label" in fields else None
        # numbers are kept as written (1, not 1.0), since they reach the chart's spec as they are
        numbers = {
            k: fields[k] if check.number(fields[k], (*item_path, k)) is not None else None
            for k in ("scale", "min", "max", "step")
            if k in fields
        }
        numbers.setdefault("scale", 1)
        if not name or param is None or label is None or None in numbers.values() or len(numbers) < 4:
            continue
        if numbers["min"] >= numbers["max"] or numbers["step"] <= 0 or numbers["scale"] == 0:
            check.error(item_path, "needs min below max, a step above 0 and a scale other than 0")
            continue
        out.append(Driver(name[0], param, label, numbers["scale"], numbers["min"], numbers["max"], numbers["step"]))
    return out


def _tiles(check: Checker, value: Any, path: load.Path_, figures: set[str] | None) -> list[Tile]:
    if not isinstance(value, list):
        check.error(path, "must be a list of {label, figure}")
        return []
    if len(value) > schema.MAX_TILES:
        check.error(path, f"the card has room for {schema.MAX_TILES} tiles, got {len(value)}")
    out = []
    for i, entry in enumerate(value[: schema.MAX_TILES]):
        fields = check.keyed(entry, (*path, i), schema.TILE_KEYS, "a mapping: label, figure")
        if fields is None or "label" not in fields or "figure" not in fields:
            continue
        label = check.text(fields["label"], (*path, i, "label"))
        figure = _names(check, [fields["figure"]], (*path, i, "figure"), figures, "figure")
        if label is not None and figure:
            out.append(Tile(label, figure[0]))
    return out
