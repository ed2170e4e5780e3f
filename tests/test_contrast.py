"""Colour contrast: every text/background pair the memo shows meets WCAG 2.1 AA (4.5:1; 3:1 for large text).

Three views of the same colours, because no one of them sees everything:
- the stylesheets, read statically with tinycss2 (custom properties resolved): the only view of the PDF's @page
  margin boxes and @footnote area, and of states no build shows (hover tooltips);
- the rendered pages: every visible text node in headless Chromium, on screen at 1280 px and with print media
  emulated, against the background it sits on (its ancestors' backgrounds composited), and every text box of the
  PDF as WeasyPrint lays it out (margin boxes and footnotes included);
- the chart SVGs: every <text> against what is drawn under it (a bar, a heatmap cell or the chart's background).

The bundled memo, the starter project ``memo new`` writes (every new memo inherits its stylesheet and charts) and
the engine's own pages are checked. A failure names the rule or element, both colours and the ratio.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import tinycss2
import tinycss2.color3

from memo import charts, render
from memo.scaffold import STARTER
from tests.bundled import BUNDLED, build, render_memo
from tests.conftest import ROOT, memo

AA = 4.5
AA_LARGE = 3.0
WHITE = (1.0, 1.0, 1.0, 1.0)
RGBA = tuple[float, float, float, float]

STYLESHEETS = {
    "styles/memo.css": ROOT / "styles" / "memo.css",
    "memo/scaffold/styles/memo.css": STARTER / "styles" / "memo.css",
    "tests/projects/tollbridge/styles/memo.css": ROOT / "tests" / "projects" / "tollbridge" / "styles" / "memo.css",
}
# Pages with a stylesheet of their own, in a <style> element (the engine's pages, and the site's front pages).
PAGE_STYLES = sorted(
    path
    for folder in (ROOT / "memo" / "templates", ROOT / "templates", STARTER / "templates")
    for path in folder.rglob("*.html.j2")
    if "<style>" in path.read_text(encoding="utf-8")
)


# ---------------------------------------------------------------- WCAG 2.1 arithmetic


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def luminance(colour: RGBA) -> float:
    """WCAG 2.1 relative luminance of an opaque sRGB colour (channels 0..1)."""
    r, g, b = (_linear(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def over(top: RGBA, below: RGBA) -> RGBA:
    """``top`` (with its alpha) composited over ``below`` (opaque)."""
    a = top[3]
    return (*(t * a + b * (1 - a) for t, b in zip(top[:3], below[:3], strict=True)), 1.0)  # type: ignore[return-value]


def ratio(fg: RGBA, bg: RGBA) -> float:
    """The contrast ratio of text ``fg`` (its alpha composited) on the opaque background ``bg``."""
    lighter, darker = sorted((luminance(over(fg, bg)), luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def needed(size_px: float, weight: float) -> float:
    """AA's minimum: large text is at least 18pt (24px), or 14pt (18.66px) bold."""
    return AA_LARGE if size_px >= 24 or (size_px >= 18.66 and weight >= 700) else AA


@functools.cache
def colour(text: str) -> RGBA | None:
    parsed = tinycss2.color3.parse_color(text.strip())
    return tuple(parsed) if isinstance(parsed, tuple) else None  # type: ignore[return-value]


def hexa(c: RGBA) -> str:
    body = "#" + "".join(f"{round(v * 255):02x}" for v in c[:3])
    return body if c[3] >= 1 else f"{body} at {c[3]:.0%}"


def test_the_contrast_arithmetic_matches_wcag() -> None:
    black, grey = (0.0, 0.0, 0.0, 1.0), colour("#777777")
    assert ratio(black, WHITE) == pytest.approx(21.0)
    assert ratio(WHITE, WHITE) == pytest.approx(1.0)
    assert ratio(grey, WHITE) == pytest.approx(4.48, abs=0.01)  # #777 on white: the classic near miss
    assert ratio(colour("#9aa5b1"), WHITE) == pytest.approx(2.50, abs=0.01)  # the "No" cells
    assert ratio((0.0, 0.0, 0.0, 0.5), WHITE) == pytest.approx(ratio(colour("#808080"), WHITE), abs=0.05)
    assert needed(24, 400) == needed(18.67, 700) == AA_LARGE and needed(18.67, 600) == needed(23.9, 400) == AA


# ---------------------------------------------------------------- the stylesheets, statically


@dataclass(frozen=True)
class Rule:
    source: str
    media: str  # "all", or the @media prelude ("print", "screen and (max-width: 40rem)")
    selector: str  # one selector of the rule's list, or "@page :first @top-left", "@footnote"
    declarations: dict[str, str]  # property -> value, custom properties resolved


def _declarations(tokens: Sequence[object]) -> list[tuple[str, str]]:
    items = tinycss2.parse_blocks_contents(tokens, skip_comments=True, skip_whitespace=True)
    return [(d.lower_name, tinycss2.serialize(d.value).strip()) for d in items if d.type == "declaration"]


def _at_rules(tokens: Sequence[object]) -> list[object]:
    items = tinycss2.parse_blocks_contents(tokens, skip_comments=True, skip_whitespace=True)
    return [r for r in items if r.type == "at-rule"]


def _raw_rules(css: str, media: str = "all") -> Iterator[tuple[str, str, list[tuple[str, str]]]]:
    """(media, selector, declarations) of every style rule, @page and margin box, @media unnested."""
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "qualified-rule":
            prelude = tinycss2.serialize(rule.prelude).strip()
            yield media, prelude, _declarations(rule.content)
        elif rule.type == "at-rule" and rule.lower_at_keyword == "media":
            yield from _raw_rules(tinycss2.serialize(rule.content), tinycss2.serialize(rule.prelude).strip())
        elif rule.type == "at-rule" and rule.lower_at_keyword == "page":
            page = ("@page " + tinycss2.serialize(rule.prelude).strip()).strip()
            yield media, page, _declarations(rule.content)
            for box in _at_rules(rule.content):
                yield media, f"{page} @{box.lower_at_keyword}", _declarations(box.content)


VAR = re.compile(r"var\(\s*(--[\w-]+)\s*(?:,\s*([^()]*))?\)")


def _custom_properties(css: str) -> dict[str, str]:
    return {n: v for _, sel, decls in _raw_rules(css) if sel == ":root" for n, v in decls if n.startswith("--")}


def rules_of(source: str, css: str, custom: dict[str, str] | None = None) -> list[Rule]:
    """The stylesheet's rules, one per selector of a list, with var() resolved against ``custom`` (by default
    the stylesheet's own :root properties)."""
    raw = list(_raw_rules(css))
    custom = _custom_properties(css) if custom is None else custom

    def resolve(value: str, depth: int = 0) -> str:
        if depth > 10 or "var(" not in value:
            return value
        return resolve(VAR.sub(lambda m: custom.get(m[1], m[2] or ""), value), depth + 1)

    out = []
    for media, prelude, decls in raw:
        resolved = {name: resolve(value) for name, value in decls if not name.startswith("--")}
        selectors = [prelude] if prelude.startswith("@") else [s.strip() for s in prelude.split(",")]
        out.extend(Rule(source, media, selector, resolved) for selector in selectors)
    return out


def _colour_in(value: str) -> RGBA | None:
    """The first colour among a shorthand's components (``background: #fff url(x)``, ``border: 1px solid red``)."""
    for token in tinycss2.parse_component_value_list(value, skip_comments=True):
        if token.type in ("hash", "ident", "function"):
            found = tinycss2.color3.parse_color(token)
            if isinstance(found, tuple):
                return tuple(found)  # type: ignore[return-value]
    return None


def text_colour(rule: Rule) -> RGBA | None:
    value = rule.declarations.get("color")
    return colour(value) if value else None


def background(rule: Rule) -> RGBA | str | None:
    """The rule's background colour; "image" when it paints an image or gradient (which this check cannot judge)."""
    for name in ("background", "background-color", "background-image"):
        value = rule.declarations.get(name, "")
        if re.search(r"url\(|gradient\(", value):
            return "image"
    value = rule.declarations.get("background-color") or rule.declarations.get("background")
    found = _colour_in(value) if value else None
    return found if found and found[3] > 0 else None


FONT_SIZE = re.compile(r"(?<![\w.-])(\d*\.?\d+)(px|pt|rem|em|%)(?![\w-])")
PX = {"px": 1.0, "pt": 4 / 3}


def _root_sizes(rules: Sequence[Rule]) -> dict[str, float]:
    sizes = {}
    for rule in rules:
        if rule.selector in ("html", ":root") and (size := _size(rule, {})):
            sizes[rule.media] = size
    return sizes


def _size(rule: Rule, roots: dict[str, float]) -> float:
    """The font size in px the rule sets; em, % and rem against the smallest root size that may apply (so a size
    is never taken for larger than it is), 0 when the rule sets none."""
    value = rule.declarations.get("font-size") or rule.declarations.get("font", "")
    match = FONT_SIZE.search(value)
    if not match:
        return 0.0
    number, unit = float(match[1]), match[2]
    if unit in PX:
        return number * PX[unit]
    root = roots.get(rule.media) or min(roots.values(), default=16.0)
    return number * root / (100 if unit == "%" else 1)


def _weight(rule: Rule) -> float:
    value = rule.declarations.get("font-weight") or rule.declarations.get("font", "")
    if re.search(r"\bbold(er)?\b", value):
        return 700
    match = re.search(r"(?<![\w.])([1-9]00)(?![\w.%])", value)
    return float(match[1]) if match else 400


def _compounds(selector: str) -> list[str]:
    """The compound selectors of a complex selector, outermost first (``.cover .kicker`` -> [.cover, .kicker])."""
    return [part for part in re.split(r"\s*[>+~]\s*|\s+", selector.strip()) if part]


@dataclass(frozen=True)
class Pair:
    where: str
    fg: RGBA
    bg: RGBA
    need: float

    @property
    def ratio(self) -> float:
        return ratio(self.fg, self.bg)

    def problem(self) -> str | None:
        r = self.ratio
        if r + 1e-9 >= self.need:
            return None
        return f"{self.where}: text {hexa(self.fg)} on {hexa(self.bg)} is {r:.2f}:1, needs {self.need}:1"


def static_pairs(source: str, css: str, base: str = "") -> tuple[list[Pair], list[str]]:
    """Every text colour the stylesheet ``css`` sets, against the background it sits on as far as the selectors
    say: the rule's own, else the nearest ancestor compound's that sets one, else the page's. Also the page's text
    colour on every background a rule sets without a text colour. ``base`` is a stylesheet that comes first (the
    project's, before a page's own rules): it gives custom properties and backgrounds, its rules are not reported."""
    own = rules_of(source, css, _custom_properties(base + "\n" + css))
    rules = rules_of("", base) + own
    roots = _root_sizes(rules)
    backgrounds: dict[str, RGBA | str] = {}
    for rule in rules:
        if (found := background(rule)) is not None:
            backgrounds.setdefault(rule.selector, found)
    page = next((backgrounds[s] for s in ("body", "html", ":root") if s in backgrounds), WHITE)
    page_colour = next(
        (c for r in rules if r.selector in ("html", ":root", "body") and (c := text_colour(r))), (0.0, 0.0, 0.0, 1.0)
    )
    pairs: list[Pair] = []
    images: list[str] = []

    def behind(rule: Rule) -> RGBA | str:
        own = background(rule)
        if own is not None:
            return own
        if rule.selector.startswith("@page"):  # a margin box sits on its page
            page_rule = rule.selector.rsplit(" @", 1)[0]
            return backgrounds.get(page_rule) or backgrounds.get("@page") or page
        if rule.selector == "@footnote" or " @footnote" in rule.selector:
            return page
        parts = _compounds(rule.selector)
        for i in range(len(parts), 0, -1):
            for candidate in (" ".join(parts[:i]), parts[i - 1]):
                if candidate in backgrounds:
                    return backgrounds[candidate]
        return page

    for rule in own:
        fg = text_colour(rule)
        has_text = not rule.selector.startswith("@") or "content" in rule.declarations or "footnote" in rule.selector
        if (fg is None and background(rule) is None) or not has_text:
            continue
        bg = behind(rule)
        where = f"{source}: {rule.selector}" + ("" if rule.media == "all" else f" (@media {rule.media})")
        if bg == "image":
            images.append(f"{where}: text on a background image or gradient, which this test cannot judge")
            continue
        pairs.append(Pair(where, fg or page_colour, bg, needed(_size(rule, roots), _weight(rule))))  # type: ignore[arg-type]
    return pairs, images


def _styles_in(template: Path) -> str:
    return "\n".join(re.findall(r"<style>(.*?)</style>", template.read_text(encoding="utf-8"), re.S))


def _failures(pairs: Iterable[Pair]) -> list[str]:
    return sorted({p for pair in pairs if (p := pair.problem())})


def assert_none(problems: Sequence[str]) -> None:
    assert not problems, f"{len(problems)} text/background pairs fail WCAG 2.1 AA:\n" + "\n".join(problems)


@pytest.mark.parametrize("source", list(STYLESHEETS))
def test_every_colour_rule_of_the_stylesheet_passes(source: str) -> None:
    # the engine's rules for its own markup come first in every page, then the project's stylesheet
    pairs, images = static_pairs(source, render.ENGINE_CSS + STYLESHEETS[source].read_text(encoding="utf-8"))
    assert any(".prov-tip" in p.where for p in pairs)
    margin_boxes = [p for p in pairs if "@page" in p.where and re.search(r"@(top|bottom)-", p.where)]
    assert margin_boxes, "the static check sees the PDF's running headers and footers"
    assert any(".cover .kicker" in p.where for p in pairs)
    assert_none(_failures(pairs) + images)


@pytest.mark.parametrize("template", PAGE_STYLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_colour_rule_of_a_page_style_passes(template: Path) -> None:
    css, base = _styles_in(template), ""
    if "{{ css }}" in css:  # the project's stylesheet (checked above) followed by the page's own rules
        project = STYLESHEETS["memo/scaffold/styles/memo.css" if STARTER in template.parents else "styles/memo.css"]
        css, base = css.replace("{{ css }}", ""), project.read_text(encoding="utf-8")
    pairs, images = static_pairs(str(template.relative_to(ROOT)), css, base)
    assert_none(_failures(pairs) + images)


def test_the_chart_theme_passes() -> None:
    theme = charts.THEME
    bg = colour(theme["background"])
    assert bg is not None
    keys = [
        (part, key)
        for part, settings in theme.items()
        if isinstance(settings, dict)
        for key in settings
        if key in ("labelColor", "titleColor", "color") and part in ("axis", "legend", "header", "title", "text")
    ]
    assert ("axis", "labelColor") in keys and ("text", "color") in keys
    size = theme["axis"]["labelFontSize"] * 1.0
    pairs = [Pair(f"memo/charts.py THEME[{p!r}][{k!r}]", colour(theme[p][k]), bg, needed(size, 400)) for p, k in keys]
    assert_none(_failures(pairs))


# ---------------------------------------------------------------- rendered: the browser and WeasyPrint

# What the browser draws: every visible text node (and ::before/::after content) outside the charts (within the
# elements matching ``scope``, when given), with its
# colour, opacity, size and weight and the background stack under it, innermost first; then every chart <text>
# with what lies under its glyphs at a few points along its middle (marks hit-tested by their fill alone).
PAGE_TEXTS = r"""
(scope) => {
  const describe = (el) => {
    const parts = [];
    for (let a = el; a && a !== document.documentElement && parts.length < 4; a = a.parentElement) {
      let part = a.tagName.toLowerCase();
      if (a.id) part += '#' + a.id;
      const classes = (a.getAttribute('class') || '').trim().split(/\s+/).filter(Boolean);
      if (classes.length) part += '.' + classes.join('.');
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  const cache = new Map();
  const stack = (el) => {  // the backgrounds from el outwards, and the opacity el inherits; shared by its children
    if (!el) return {layers: [], opacity: 1};
    if (cache.has(el)) return cache.get(el);
    const s = getComputedStyle(el), up = stack(el.parentElement);
    const layer = {colour: s.backgroundColor, image: s.backgroundImage, where: s.backgroundImage === 'none' ? '' : describe(el)};
    const found = {layers: [layer, ...up.layers], opacity: up.opacity * parseFloat(s.opacity)};
    cache.set(el, found);
    return found;
  };
  const visible = (el) => {
    const s = getComputedStyle(el);
    return s.visibility === 'visible' && s.display !== 'none';
  };
  const out = [];
  const roots = scope ? [...document.querySelectorAll(scope)] : (document.body ? [document.body] : []);
  const skip = (el) => el.closest('svg, script, style, noscript, template');
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode, el = node.parentElement;
      if (!node.textContent.trim() || skip(el) || !visible(el)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      if (![...range.getClientRects()].some(r => r.width > 0 && r.height > 0)) continue;
      const s = getComputedStyle(el), {layers, opacity} = stack(el);
      out.push({where: describe(el), text: node.textContent.trim().slice(0, 40), colour: s.color, opacity,
                size: parseFloat(s.fontSize), weight: parseFloat(s.fontWeight), layers});
    }
    const elements = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT, {
      acceptNode: (el) => skip(el) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
    });
    for (let el = root; el; el = elements.nextNode()) {
      for (const pseudo of ['::before', '::after']) {
        const s = getComputedStyle(el, pseudo);
        if (!s.content || s.content === 'none' || s.content === 'normal' || s.content === '""') continue;
        if (s.display === 'none' || s.visibility !== 'visible' || !visible(el)) continue;
        const {layers, opacity} = stack(el);
        layers.unshift({colour: s.backgroundColor, image: s.backgroundImage, where: describe(el) + pseudo});
        out.push({where: describe(el) + pseudo, text: s.content.slice(0, 40), colour: s.color,
                  opacity: opacity * parseFloat(s.opacity), size: parseFloat(s.fontSize),
                  weight: parseFloat(s.fontWeight), layers});
      }
    }
  }
  return out;
}
"""

CHART_TEXTS = r"""
() => {
  const style = document.createElement('style');
  style.textContent = 'svg * { pointer-events: visibleFill !important; } svg text, svg tspan { pointer-events: none !important; }';
  document.head.appendChild(style);
  const opacities = new Map();
  const opacity = (el) => {  // the opacity el inherits from itself and its ancestors
    if (!el) return 1;
    if (!opacities.has(el)) opacities.set(el, opacity(el.parentElement) * parseFloat(getComputedStyle(el).opacity));
    return opacities.get(el);
  };
  const inView = (box) => box.top >= 0 && box.bottom <= innerHeight && box.left >= 0 && box.right <= innerWidth;
  const out = [];
  for (const svg of document.querySelectorAll('svg')) {
    const file = svg.closest('[data-file]'), labelled = svg.getAttribute('aria-labelledby');
    const name = (file && file.dataset.file) || (labelled && labelled.replace(/-title$/, '')) || svg.id || 'svg';
    const page = [];
    for (let a = svg.parentElement; a; a = a.parentElement) {
      const p = getComputedStyle(a);
      page.push({colour: p.backgroundColor, image: p.backgroundImage, where: a.tagName.toLowerCase()});
    }
    if (!inView(svg.getBoundingClientRect())) svg.scrollIntoView({block: 'start'});  // hit tests see the viewport
    for (const t of svg.querySelectorAll('text')) {
      const text = t.textContent.trim(), s = getComputedStyle(t);
      let box = t.getBoundingClientRect();
      if (!text || box.width === 0 || s.display === 'none' || s.visibility !== 'visible' || s.fill === 'none') continue;
      if (parseFloat(s.fillOpacity) * opacity(t) === 0) continue;  // not drawn: an axis label Vega hid for overlap
      if (!inView(box)) {
        t.scrollIntoView({block: 'center', inline: 'center'});
        box = t.getBoundingClientRect();
      }
      const points = [];
      for (const f of [0.1, 0.3, 0.5, 0.7, 0.9]) {
        const under = document.elementsFromPoint(box.left + box.width * f, box.top + box.height * 0.55)
          .filter(e => e instanceof SVGGeometryElement && svg.contains(e));
        points.push(under.map(e => {
          const m = getComputedStyle(e);
          return {colour: m.fill, opacity: parseFloat(m.fillOpacity) * opacity(e),
                  where: e.tagName + (e.getAttribute('class') ? '.' + e.getAttribute('class') : '')};
        }));
      }
      out.push({chart: name, text: text.slice(0, 40), colour: s.fill, opacity: parseFloat(s.fillOpacity) * opacity(t),
                size: parseFloat(s.fontSize), weight: parseFloat(s.fontWeight), points, page});
    }
  }
  return out;
}
"""


def _browser_colour(text: str) -> RGBA:
    found = colour(text)
    assert found is not None, f"the browser gave a colour this test cannot read: {text!r}"
    return found


def _composite(layers: Sequence[dict[str, str]], images: list[str], where: str) -> RGBA:
    """The opaque colour of a stack of backgrounds given innermost first, over the white canvas."""
    result = WHITE
    for layer in reversed(layers):
        if layer.get("image", "none") != "none":
            images.append(f"{where}: sits on a background image or gradient ({layer['where']}), not judged here")
        result = over(_browser_colour(layer["colour"]), result)
    return result


def page_pairs(texts: Sequence[dict], label: str) -> tuple[list[Pair], list[str]]:
    pairs, images = [], []
    for t in texts:
        where = f"{label}: {t['where']} {t['text']!r}"
        fg = _browser_colour(t["colour"])
        fg = (*fg[:3], fg[3] * t["opacity"])
        bg = _composite(t["layers"], images, where)
        pairs.append(Pair(where, fg, bg, needed(t["size"], t["weight"])))  # type: ignore[arg-type]
    return pairs, images


def chart_pairs(texts: Sequence[dict], label: str) -> tuple[list[Pair], list[str]]:
    pairs, images = [], []
    for t in texts:
        fg = _browser_colour(t["colour"])
        fg = (*fg[:3], fg[3] * t["opacity"])
        page = _composite(t["page"], images, f"{label}: chart {t['chart']}")
        for marks in t["points"]:
            bg, on = page, "the chart's background"
            for mark in reversed(marks):  # bottom first
                if mark["colour"].startswith("url("):
                    images.append(f"{label}: chart {t['chart']!r}: text {t['text']!r} on a gradient, not judged here")
                elif mark["colour"] != "none" and (c := colour(mark["colour"])):
                    bg, on = over((*c[:3], c[3] * mark["opacity"]), bg), mark["where"]  # type: ignore[arg-type]
            where = f"{label}: chart {t['chart']!r}: text {t['text']!r} on {on}"
            pairs.append(Pair(where, fg, bg, needed(t["size"], t["weight"])))  # type: ignore[arg-type]
    return pairs, images


def weasyprint_pairs(html: str, out_dir: Path, project_dir: Path, label: str) -> tuple[list[Pair], list[str]]:
    """Every text box of the PDF as WeasyPrint lays out ``html`` (the build's own fetcher and fonts): body text,
    running headers and footers in the page's margin boxes, footnotes, generated content."""
    import weasyprint
    from weasyprint.formatting_structure import boxes

    from memo import pdf

    pdf._patch_footnote_overflow()
    fetcher = pdf.make_fetcher([project_dir, out_dir], out_dir / "fonts")
    document = weasyprint.HTML(string=html, base_url=str(out_dir) + "/", url_fetcher=fetcher)
    rendered = document.render(font_config=pdf.font_configuration())
    pairs: list[Pair] = []
    images: list[str] = []

    def walk(box: object, bg: RGBA, opacity: float, where: str) -> None:
        style = box.style  # type: ignore[attr-defined]
        bg, opacity = over(tuple(style["background_color"]), bg), opacity * style["opacity"]  # type: ignore[arg-type]
        if isinstance(box, boxes.MarginBox):
            where += f" @page {box.at_keyword}"
        elif isinstance(box, boxes.FootnoteAreaBox):
            where += " @footnote"
        elif getattr(box, "element_tag", None) and not isinstance(box, (boxes.TextBox, boxes.LineBox)):
            where = where.split(" > ")[0] + " > " + box.element_tag  # type: ignore[attr-defined]
        if any(image[0] != "none" for image in style["background_image"] or ()):
            images.append(f"{where}: a background image or gradient, not judged here")
        if isinstance(box, boxes.TextBox) and box.text.strip() and style["visibility"] == "visible":
            fg = (*tuple(style["color"])[:3], style["color"].alpha * opacity)
            need = needed(style["font_size"], style["font_weight"])
            pairs.append(Pair(f"{where} {box.text.strip()[:40]!r}", fg, bg, need))  # type: ignore[arg-type]
        for child in getattr(box, "children", None) or ():
            walk(child, bg, opacity, where)

    for number, page in enumerate(rendered.pages, 1):
        walk(page._page_box, WHITE, 1.0, f"{label}: page {number}")
    return pairs, images


# ---------------------------------------------------------------- the builds the rendered checks read


@dataclass(frozen=True)
class Built:
    name: str
    project: Path
    out: Path
    claim_fails: str | None = None  # a page of the memo with a failing claim (a state no normal build shows)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The bundled memo, and the same memo with a claim that fails (its sentence marked, a state no normal build
    shows), written beside it so it loads the same fonts and assets."""
    from memo.publish import publish

    out = tmp_path_factory.mktemp("contrast-bundled")
    build(BUNDLED, out)
    failing = render_memo(BUNDLED, ("users.conversion_rate=0.004",), allow_failing_claims=True).html
    assert 'class="claim failing"' in failing and 'class="claim-flag"' in failing
    (out / "memo-claim-fails.html").write_text(failing, encoding="utf-8")
    publish(out, out / "public")  # the engine's pages kept across publishes: revisions.html, index.html
    index = (out / "public" / "index.html").read_text(encoding="utf-8")  # it moves on to the latest version at once
    still = re.sub(r'<meta http-equiv="refresh"[^>]*>', "", index)
    assert still != index
    (out / "public" / "index-still.html").write_text(still, encoding="utf-8")
    return Built("bundled memo", ROOT, out, "memo-claim-fails.html")


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Built:
    where = tmp_path_factory.mktemp("contrast-starter")
    assert memo("new", "starter", cwd=where, bundled=False).returncode == 0
    result = memo("build", cwd=where / "starter")
    assert result.returncode == 0, result.stderr
    return Built("starter project", where / "starter", where / "starter" / "build")


@pytest.fixture(scope="module")
def browser(chromium):
    return chromium


@dataclass(frozen=True)
class View:
    file: str  # in the build's folder
    what: str
    media: tuple[str, ...] = ("screen",)
    scope: str | None = None  # only the text inside these elements (the rest is another view's)
    charts: bool = True


def _views(built: Built) -> list[View]:
    views = [View("memo.html", "memo.html", ("screen", "print")), View("site/index.html", "the site's front page")]
    if built.claim_fails:
        what = f"{built.claim_fails} (a failing claim's sentence)"
        views.append(View(built.claim_fails, what, ("screen", "print"), ".claim.failing", charts=False))
    if (built.out / "public").is_dir():
        views.append(View("public/revisions.html", "memo publish's revisions.html"))
        views.append(View("public/index-still.html", "memo publish's index.html"))
    return views


def _look(
    browser, url: str, media: str, scope: str | None = None, html: str | None = None, charts: bool = True
) -> tuple[list, list]:
    """What the page at ``url`` (or the ``html`` given) draws at 1280 px: its texts and its charts' texts."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.emulate_media(media=media)
        if html is None:
            page.goto(url, wait_until="load")
        else:
            page.set_content(html)
        page.evaluate("document.fonts.ready")
        return page.evaluate(PAGE_TEXTS, scope), page.evaluate(CHART_TEXTS) if charts else []
    finally:
        page.close()


@pytest.mark.parametrize("which", ["bundled", "starter"])
def test_every_text_the_browser_draws_passes(request: pytest.FixtureRequest, browser, which: str) -> None:
    built: Built = request.getfixturevalue(which)
    problems: list[str] = []
    for view in _views(built):
        for media in view.media:
            with_charts = view.charts and media == "screen"  # the same SVGs in print: the PDF check reads those
            texts, chart_texts = _look(browser, (built.out / view.file).as_uri(), media, view.scope, None, with_charts)
            label = f"{built.name}, {view.what} ({media}, 1280 px)"
            pairs, images = page_pairs(texts, label)
            more, more_images = chart_pairs(chart_texts, label)
            pairs, images = pairs + more, images + more_images
            assert pairs, f"{label}: no text found"
            if view.file == "memo.html" and media == "screen":
                assert len(texts) > 200 and len(chart_texts) > (100 if which == "bundled" else 10)
            problems += _failures(pairs) + images
    assert_none(problems)


@pytest.mark.parametrize("which", ["bundled", "starter"])
def test_every_text_of_the_chart_svgs_passes(request: pytest.FixtureRequest, browser, which: str) -> None:
    built: Built = request.getfixturevalue(which)
    svgs = sorted((built.out / "charts").glob("*.svg"))
    assert svgs
    shown = "".join(f"<div data-file='{svg.name}'>{svg.read_text(encoding='utf-8')}</div>" for svg in svgs)
    texts = _look(browser, "about:blank", "screen", html=f"<!doctype html><body style='margin:0'>{shown}</body>")[1]
    charts_seen = {t["chart"] for t in texts}
    assert len(charts_seen) == len(svgs), f"text found in {len(charts_seen)} of {len(svgs)} SVGs"
    pairs, images = chart_pairs(texts, f"{built.name}, charts/*.svg")
    assert_none(_failures(pairs) + images)


@pytest.mark.parametrize("which", ["bundled", "starter"])
def test_every_text_of_the_pdf_passes(request: pytest.FixtureRequest, which: str) -> None:
    built: Built = request.getfixturevalue(which)
    html = (built.out / "memo.html").read_text(encoding="utf-8")
    pairs, images = weasyprint_pairs(html, built.out, built.project, f"{built.name}, memo.pdf")
    assert any("@page @bottom-right" in p.where and "Page 2 of" in p.where for p in pairs), "the footers are read"
    assert any("@footnote" in p.where for p in pairs) or which == "starter", "the footnotes are read"
    assert_none(_failures(pairs) + images)
