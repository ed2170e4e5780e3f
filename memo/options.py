"""One build's settings, as one object: what the CLI, ``memo diff`` and ``memo serve`` hand the build, and the key
that says whether two builds would write the same outputs (like black's ``Mode``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from memo.project import Project, display, load_project, locate


@dataclass(frozen=True)
class BuildOptions:
    project: Project
    assumptions: Path  # the assumptions file (the project's own unless --assumptions names another)
    out_dir: Path
    overrides: tuple[str, ...] = ()  # --set KEY=VALUE, in order
    scenario: str | None = None
    allow_failing_claims: bool = False
    base_url: str | None = None
    use_cache: bool = True
    display_name: str | None = None  # how diagnostics name the assumptions file

    @classmethod
    def of(
        cls,
        assumptions: str | os.PathLike[str] | None = None,
        out_dir: str | os.PathLike[str] | None = None,
        project: Project | str | os.PathLike[str] | None = None,
        **settings: object,
    ) -> BuildOptions:
        """Options with the defaults filled in: the project found above the assumptions file (or the working
        directory), its own assumptions file, and ``build/`` in the project folder."""
        if not isinstance(project, Project):
            start = Path(assumptions).parent if assumptions is not None and project is None else None
            project = load_project(locate(project, start))
        path = Path(assumptions) if assumptions is not None else project.assumptions
        settings.setdefault("display_name", display(path))
        overrides = tuple(settings.pop("overrides", ()) or ())  # type: ignore[call-overload]
        out = Path(out_dir) if out_dir is not None else project.root / "build"
        return cls(project, path, out, overrides, **settings)  # type: ignore[arg-type]

    @cached_property
    def project_digest(self) -> str:
        """Every file of the project the build reads besides the assumptions: templates, charts, styles, assets,
        the project file and the model."""
        return self.project.source_digest()

    def cache_key(self) -> str | None:
        """Everything a build's outputs depend on: the inputs, these options, the project's files, memo's own code
        and the versions of the libraries and fonts that shape the bytes. None when the inputs cannot be read."""
        from memo import figures, fonts
        from memo.cache import code_digest, key
        from memo.errors import InputError
        from memo.load import read_bounded

        try:
            source = read_bounded(self.assumptions)  # never a blocking or unbounded read: validation says why
        except InputError:
            return None
        settings = [
            list(self.overrides),
            self.scenario,
            self.allow_failing_claims,
            self.base_url,
            str(self.project.root),
        ]
        return key(
            source,
            json.dumps(settings),
            self.project_digest,
            code_digest(),
            json.dumps(figures.library_versions(), sort_keys=True),
            fonts.digest(),
        )
