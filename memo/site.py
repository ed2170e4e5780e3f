"""Site stage: the static site under ``build/site/``, ready for any static host under any path.

Everything is relative (the site works from a sub-path and from disk) and self-hosted: fonts, the chart runtime
and the scenario explorer's code are files of the site; nothing is requested from another host. ``--base-url``
fills the absolute URLs that sitemaps, feeds and social cards need; without it what needs one is left out (no
sitemap.xml, no og:image or og:url), never written relative or empty, and the command warns once (:func:`warnings`).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from memo import format as fmt
from memo.cache import Cache
from memo.cache import key as cache_key
from memo.converter import ConversionError, Converter, InProcess
from memo.errors import MemoError
from memo.project import PLACEHOLDER, Settings
from memo.validate import MemoMeta

ASSETS = Path(__file__).resolve().parent / "assets"  # the engine's own: package data
DEFAULT_SETTINGS = Settings()


def vega_bundle(store: Cache | None = None) -> bytes:
    """Vega, Vega-Lite and Vega-Embed as one script, from vl-convert (no CDN): vendored for the pinned vl-convert,
    else made (a few seconds of two cores) and cached."""
    return start_vega_bundle(store)()


VENDORED_BUNDLE = ASSETS / "vendor" / "vega-bundle-vl-convert-{version}.js.gz"


def vendored_vega_bundle(version: str) -> bytes | None:
    """``vl_convert.javascript_bundle()`` as vl-convert ``version`` makes it, when memo ships it (the version
    pyproject.toml pins; tests/test_site.py checks the two agree, ``python -m memo.site`` writes it)."""
    path = Path(str(VENDORED_BUNDLE).format(version=version))
    return gzip.decompress(path.read_bytes()) if path.is_file() else None


def start_vega_bundle(store: Cache | None, converter: Converter | None = None) -> Callable[[], bytes]:
    """Start making the bundle; the returned function waits for it. Vendored for the pinned vl-convert; else, on a
    cache miss, made in a second process (memo build's converter, or a worker of its own) while this one goes on."""
    from importlib import metadata

    version = metadata.version("vl-convert-python")
    vendored = vendored_vega_bundle(version)
    if vendored is not None:
        return lambda: vendored
    digest = cache_key("vega.js", version)
    cached = store.get("vega-bundle", digest) if store is not None else None
    if cached is not None:
        store.hits.append("vega-bundle")
        return lambda: cached
    result = (converter or InProcess()).submit("bundle")

    def wait() -> bytes:
        try:
            body = result()
        except ConversionError as exc:
            raise MemoError(f"vl-convert could not bundle Vega: {exc}") from exc
        if store is not None:
            store.misses.append("vega-bundle")
            store.put("vega-bundle", digest, body)
        return body

    return wait


def favicon(project_assets: Path | None = None) -> bytes:
    """The project's ``assets/favicon.svg`` when it has one, otherwise the engine's."""
    own = project_assets / "favicon.svg" if project_assets is not None else None
    return (own if own is not None and own.is_file() else ASSETS / "favicon.svg").read_bytes()


def browser_assets(
    store: Cache | None = None, bundle: Callable[[], bytes] | None = None, project_assets: Path | None = None
) -> dict[str, bytes]:
    return {
        "assets/vega.js": bundle() if bundle is not None else vega_bundle(store),
        "assets/vega-interpreter.js": (ASSETS / "vendor" / "vega-interpreter.js").read_bytes(),
        "assets/explorer.js": (ASSETS / "explorer.js").read_bytes(),
        "favicon.svg": favicon(project_assets),
    }


def slow_artefacts(
    meta: MemoMeta,
    figures: Mapping[str, Any],
    store: Cache | None = None,
    bundle: Callable[[], bytes] | None = None,
    converter: Converter | None = None,
    scenario: str | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    project_assets: Path | None = None,
) -> dict[str, bytes]:
    """The files of the site that take vl-convert's time: the browser bundle and the social card."""
    card = social_card(meta, figures, store, converter, scenario, settings)
    return {**browser_assets(store, bundle, project_assets), "social.png": card}


def figures_csv(payload: Mapping[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "label", "value", "unit", "low", "high", "formula", "inputs", "estimate"])
    for name, f in payload["figures"].items():
        writer.writerow(
            [
                name,
                f["label"],
                repr(f["value"]),
                f["unit"],
                repr(f["low"]) if "low" in f else "",
                repr(f["high"]) if "high" in f else "",
                f["formula"],
                " ".join(f["inputs"]),
                "yes" if f.get("estimate") else "no",
            ]
        )
    return out.getvalue().encode("utf-8")


# RFC 3986's characters, less the quote: anything else in a URL is percent-encoded before it is written, so no
# URL can end a robots.txt line, an XML attribute or an element early, whatever reached it.
_URL_SAFE = "-._~:/?#[]@!$&()*+,;=%"


def _url(base_url: str | None, path: str) -> str:
    url = path if base_url is None else base_url.rstrip("/") + "/" + path
    return urllib.parse.quote(url, safe=_URL_SAFE)


BUILD_LEFT_OUT = "sitemap.xml and the pages' og:image, og:url and canonical link"
PUBLISH_LEFT_OUT = "the site's sitemap.xml"


def warnings(base_url: str | None, left_out: str = BUILD_LEFT_OUT) -> tuple[str, ...]:
    """What a build or publish without a base URL tells its user, once: what it left out and how to have it."""
    if base_url is not None:
        return ()
    return (
        f"no --base-url, so what needs absolute URLs was left out ({left_out}); pass --base-url "
        "https://HOST/PATH/, where the site will be served, or set base_url: in memo.yml",
    )


def sitemap(base_url: str | None, pages: list[tuple[str, str]]) -> bytes | None:
    """pages: (path, last-modified date or time, W3C Datetime). None without a base URL: a sitemap's <loc> must be
    absolute, and one with no <url> at all is not valid against the protocol's schema either."""
    if base_url is None:
        return None
    rows = "".join(
        f"  <url><loc>{escape(_url(base_url, path))}</loc><lastmod>{escape(date)}</lastmod></url>\n"
        for path, date in pages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + rows + "</urlset>\n"
    ).encode("utf-8")


def robots(base_url: str | None) -> bytes:
    text = "User-agent: *\nAllow: /\n"
    if base_url is not None:
        text += f"Sitemap: {_url(base_url, 'sitemap.xml')}\n"
    return text.encode("utf-8")


def midnight(date: str) -> str:
    """An as-of date (YYYY-MM-DD) as the RFC 3339 time an Atom feed gives it."""
    return f"{date}T00:00:00Z"


def feed(meta: MemoMeta, base_url: str | None, entries: list[dict[str, str]]) -> bytes:
    """An Atom feed; entries: title, path, updated (RFC 3339, UTC), summary, id. The links are relative, which
    Atom allows (RFC 4287 section 3.3 and xml:base): against the base URL when there is one, otherwise against
    wherever the feed is read from."""
    updated = max((e["updated"] for e in entries), default=midnight(meta.as_of.isoformat()))
    base = f" xml:base={quoteattr(_url(base_url, ''))}" if base_url else ""
    items = "".join(
        "  <entry>\n"
        f"    <title>{escape(e['title'])}</title>\n"
        f"    <link href={quoteattr(_url(None, e['path']))}/>\n"
        f"    <id>{escape(e['id'])}</id>\n"
        f"    <updated>{escape(e['updated'])}</updated>\n"
        f"    <summary>{escape(e['summary'])}</summary>\n"
        "  </entry>\n"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom"{base}>\n'
        f"  <title>{escape(meta.title)}</title>\n"
        f"  <id>tag:memo,{meta.as_of.isoformat()}:{escape(_slug(meta.title))}</id>\n"
        f"  <updated>{escape(updated)}</updated>\n"
        f"  <author><name>{escape(meta.author)}</name></author>\n"
        '  <link rel="self" href="feed.xml"/>\n' + items + "</feed>\n"
    ).encode("utf-8")


def _slug(text: str) -> str:
    return "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-")


def scenario_label(scenario: str | None) -> str:
    """How a page names the scenario it was built for ("" for the file's own inputs)."""
    return f"{scenario.replace('_', ' ').capitalize()} scenario" if scenario else ""


def _show(figures: Mapping[str, Any], name: str) -> str:
    f = figures[name]
    return fmt.by_unit(f.value, f.unit)


def summary_line(
    figures: Mapping[str, Any], scenario: str | None = None, template: str | None = None, fallback: str = ""
) -> str:
    """The feed entry's summary: the project's line (memo.yml ``feed.summary``) with each ``{figure}`` as the memo
    prints it, or ``fallback`` (the memo's subject) when the project gives none."""
    text = fallback if template is None else PLACEHOLDER.sub(lambda m: _show(figures, m.group(1)), template)
    return (f"{scenario_label(scenario)}: " if scenario else "") + text


def social_card(
    meta: MemoMeta,
    figures: Mapping[str, Any],
    store: Cache | None = None,
    converter: Converter | None = None,
    scenario: str | None = None,
    settings: Settings = DEFAULT_SETTINGS,
) -> bytes:
    """A 1200 x 630 preview image for link previews, drawn by vl-convert in the memo's fonts: the project's kicker
    and tiles (memo.yml ``card:``) around the memo's title."""
    from importlib import metadata

    from memo import fonts

    tiles = [(tile.label, _show(figures, tile.figure)) for tile in settings.tiles]
    kicker = (settings.kicker or "Memo").upper()
    texts = [
        {
            "x": 70,
            "y": 110,
            "text": " \u00b7 ".join([kicker, *filter(None, [scenario_label(scenario).upper()])]),
            "size": 22,
            "weight": 600,
            "color": "#b9cfe0",
        },
        {"x": 70, "y": 190, "text": meta.title, "size": 46, "weight": 600, "color": "#ffffff"},
        {"x": 70, "y": 245, "text": meta.subtitle or "", "size": 26, "weight": 400, "color": "#dbe6ef"},
        {
            "x": 70,
            "y": 560,
            "text": f"{meta.author} \u00b7 data as of {fmt.date(meta.as_of)}",
            "size": 22,
            "weight": 400,
            "color": "#b9cfe0",
        },
    ]
    for i, (label, value) in enumerate(tiles):
        texts.append(
            {"x": 70 + i * 270, "y": 380, "text": label.upper(), "size": 20, "weight": 600, "color": "#b9cfe0"}
        )
        texts.append({"x": 70 + i * 270, "y": 440, "text": value, "size": 54, "weight": 600, "color": "#ffffff"})
    spec = {
        "width": 1200,
        "height": 630,
        "padding": 0,
        "background": "#0b3a5b",
        "config": {"view": {"stroke": None}, "font": fonts.SANS},
        "data": {"values": texts},
        "mark": {"type": "text", "align": "left", "baseline": "alphabetic", "limit": 1125},  # long text ends in …
        "encoding": {
            "x": {
                "field": "x",
                "type": "quantitative",
                "scale": {"domain": [0, 1200], "range": [0, 1200]},
                "axis": None,
            },
            "y": {"field": "y", "type": "quantitative", "scale": {"domain": [0, 630], "range": [0, 630]}, "axis": None},
            "text": {"field": "text"},
            "size": {"field": "size", "type": "quantitative", "scale": None},
            "fontWeight": {"field": "weight", "type": "nominal", "scale": None},
            "color": {"field": "color", "type": "nominal", "scale": None},
        },
    }

    def draw() -> bytes:
        try:
            return (converter or InProcess()).submit("png", spec)()
        except ConversionError as exc:
            raise MemoError(f"vl-convert could not draw the social card: {exc}") from exc

    if store is None:
        return draw()
    version = metadata.version("vl-convert-python")
    return store.through("social-png", cache_key(json.dumps(spec, sort_keys=True), version, fonts.digest()), draw)


def files(
    *,
    meta: MemoMeta,
    figures: Mapping[str, Any],
    memo_html: str,
    index_html: str,
    pdf_bytes: bytes,
    payload: Mapping[str, Any],
    figures_json: bytes,
    chart_svgs: Mapping[str, bytes],
    font_files: Mapping[str, bytes],
    assumptions_yaml: bytes,
    base_url: str | None,
    artefacts: Mapping[str, bytes] | None = None,
    scenario: str | None = None,
    settings: Settings = DEFAULT_SETTINGS,
) -> dict[str, bytes]:
    """Every file of the site, by path relative to the site root."""
    date = meta.as_of.isoformat()
    site_map = sitemap(base_url, [("", date), ("memo.html", date), ("memo.pdf", date)])
    out: dict[str, bytes] = {
        "index.html": index_html.encode("utf-8"),
        "memo.html": memo_html.encode("utf-8"),
        "memo.pdf": pdf_bytes,
        "figures.json": figures_json,
        "figures.csv": figures_csv(payload),
        "assumptions.yaml": assumptions_yaml,
        **(artefacts if artefacts is not None else slow_artefacts(meta, figures, scenario=scenario, settings=settings)),
        "robots.txt": robots(base_url),
        **({"sitemap.xml": site_map} if site_map is not None else {}),
        "feed.xml": feed(
            meta,
            base_url,
            [
                {
                    "title": meta.title + (f" ({scenario_label(scenario)})" if scenario else ""),
                    "path": "memo.html",
                    "updated": midnight(date),
                    "summary": summary_line(figures, scenario, settings.summary, meta.subject or meta.title),
                    "id": f"tag:memo,{date}:{_slug(meta.title)}:{payload['build']['inputs_sha256'][:16]}"
                    + (f":{_slug(scenario)}" if scenario else ""),
                }
            ],
        ),
        **{f"charts/{name}.svg": svg for name, svg in chart_svgs.items()},
        **{f"fonts/{name}": data for name, data in font_files.items()},
    }
    return out


def vendor_vega_bundle() -> Path:
    """Write the installed vl-convert's bundle where :func:`vendored_vega_bundle` reads it (gzip, no timestamp)."""
    from importlib import metadata

    import vl_convert

    path = Path(str(VENDORED_BUNDLE).format(version=metadata.version("vl-convert-python")))
    path.write_bytes(gzip.compress(vl_convert.javascript_bundle().encode("utf-8"), mtime=0))
    return path


if __name__ == "__main__":
    print(vendor_vega_bundle())
