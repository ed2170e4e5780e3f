"""What every HTML page memo writes shares: one Content-Security-Policy builder and the engine's own templates.

The memo, its site's index, the review page of ``memo diff`` and the revisions pages of ``memo publish`` all open
with the engine's head partial (``memo/head.html.j2``: charset, viewport, the policy, referrer, title), and each
page's policy comes from :func:`policy`, which starts from ``default-src 'none'`` and allows only what that page
names. The engine's templates live in ``memo/templates/`` and are addressed under the ``memo/`` prefix, looked up
before a project's own templates, so a project can never replace them by accident.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"
PREFIX = "memo"  # engine templates are named memo/<file>, e.g. memo/head.html.j2

SELF = "'self'"
INLINE = "'unsafe-inline'"
DATA = "data:"


def policy(
    *,
    script: Sequence[str] = (),
    style: Sequence[str] = (),
    font: Sequence[str] = (),
    img: Sequence[str] = (),
    connect: Sequence[str] = (),
) -> str:
    """A Content-Security-Policy that forbids everything but the sources named, per fetch directive.

    Directives come in a fixed order, empty ones are left out (``default-src 'none'`` forbids them), and no page
    may set a ``<base>`` or submit a form.
    """
    allowed = {"script-src": script, "style-src": style, "font-src": font, "img-src": img, "connect-src": connect}
    parts = ["default-src 'none'"]
    parts += [f"{directive} {' '.join(sources)}" for directive, sources in allowed.items() if sources]
    parts += ["base-uri 'none'", "form-action 'none'"]
    return "; ".join(parts)


# The memo's (memo.html and the site's index.html): its own scripts, styles, fonts and images, chart SVGs inline.
CSP = policy(script=[SELF], style=[SELF, INLINE], font=[SELF], img=[SELF, DATA], connect=[SELF])


def templates_loader(project_templates: Path | None = None) -> jinja2.BaseLoader:
    """The engine's templates under ``memo/``, then (for the memo) the project's own ``templates/`` folder."""
    engine = jinja2.PrefixLoader({PREFIX: jinja2.FileSystemLoader(str(TEMPLATES))})
    if project_templates is None:
        return engine
    return jinja2.ChoiceLoader([engine, jinja2.FileSystemLoader(str(project_templates))])


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=templates_loader(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, *, title: str, csp: str, **context: Any) -> str:
    """One of the engine's pages (``template`` is a file in memo/templates/), under the shared head."""
    return _environment().get_template(f"{PREFIX}/{template}").render(title=title, csp=csp, **context)
