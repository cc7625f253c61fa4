"""Text on the dashboard meets WCAG AA: a contrast ratio of at least 4.5:1 between every
text colour of the stylesheet and each background it can sit on.

The colours are read from dashboard.css (and the member colours of the group grid from
status.js), so a new or changed colour is checked without touching this test. Where a
text rule sets no background of its own, its backgrounds are those of its context: the
header's for ``header …``; the map's node fills for ``#map …``; the member colours for
the group grid; otherwise every light surface the stylesheet paints (panels, rows,
highlighted rows and KPI boxes, cards), the worst of which must pass.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "static" / "dashboard"
AA = 4.5

_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_HEX = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def rules(css: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) for each selector of each rule (media queries flattened)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for selectors, body in _RULE.findall(css):
        decls = {}
        for decl in body.split(";"):
            prop, _, value = decl.partition(":")
            if value.strip():
                decls[prop.strip()] = value.strip()
        for selector in selectors.split(","):
            selector = " ".join(selector.split())
            if selector and not selector.startswith("@"):
                out.append((selector, decls))
    return out


def colour(value: str | None) -> str | None:
    found = _HEX.search(value or "")
    return found.group(0).lower() if found else None


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def background(decls: dict[str, str]) -> str | None:
    return colour(decls.get("background-color") or decls.get("background"))


def text_colour(selector: str, decls: dict[str, str]) -> str | None:
    """The colour text of this rule is drawn in: ``color``, or ``fill`` of SVG text."""
    if "color" in decls:
        return colour(decls["color"])
    if "fill" in decls and re.search(r"\btext\b|-label\b|\.tick\b", selector):
        return colour(decls["fill"])
    return None


def pairs() -> list[tuple[str, str, str, str]]:
    """(text selector, text colour, background colour, where) of every pair to check."""
    parsed: list[tuple[str, dict[str, str]]] = []
    merged: dict[str, dict[str, str]] = {}  # a selector's declarations, later rules winning
    for selector, decls in rules((STATIC / "dashboard.css").read_text()):
        merged.setdefault(selector, {}).update(decls)
    parsed = list(merged.items())
    members = [
        c.lower()
        for c in _HEX.findall(
            re.search(r"COLOURS = \[(.*?)\]", (STATIC / "status.js").read_text()).group(1)  # type: ignore[union-attr]
        )
    ]
    bg_of = {sel: background(d) for sel, d in parsed if background(d)}
    header = bg_of["header"]
    map_fills = sorted(
        {
            colour(d["fill"])
            for sel, d in parsed
            if sel.startswith("#map") and sel.endswith("rect") and colour(d.get("fill"))
        }  # type: ignore[misc]
    )
    light = sorted({c for c in bg_of.values() if c and luminance(c) > 0.5})
    body_text = colour(merged["body"]["color"])
    out: list[tuple[str, str, str, str]] = []
    for selector, decls in parsed:
        text = text_colour(selector, decls)
        if text is None:
            continue
        own = bg_of.get(selector)
        if own:
            backs, where = [own], "its own background"
        elif selector.startswith("header"):
            backs, where = [header], "the header"
        elif selector.startswith("#map"):
            backs, where = [*map_fills, "#ffffff"], "the map's nodes and panel"
        elif selector.startswith("table.grid"):
            backs, where = members, "the member colours"
        else:
            backs, where = light, "the light surfaces"
        out.extend((selector, text, b, where) for b in backs)  # type: ignore[misc]
    # Composites: the header's text on its badges; body text on the member swatches.
    header_text = colour(merged["header"]["color"])
    for selector, decls in parsed:
        if selector.startswith(".live") and background(decls):
            out.append((selector, header_text, background(decls), "the header's text"))  # type: ignore[arg-type]
    out.extend((".swatch / td.p", body_text, m, "a member colour") for m in members)  # type: ignore[misc]
    return out


def test_the_parser_sees_the_stylesheet() -> None:
    found = pairs()
    assert len(found) > 100
    selectors = {p[0] for p in found}
    assert {"header nav a", ".note", "#map text.figures", ".live.up"} <= selectors
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#777", "#fff") == pytest.approx(4.48, abs=0.01)  # the classic near miss


def test_every_text_colour_meets_wcag_aa_on_its_backgrounds() -> None:
    failing = sorted(
        {
            f"{selector}: {text} on {back} ({where}) = {contrast(text, back):.2f}:1"
            for selector, text, back, where in pairs()
            if contrast(text, back) < AA
        }
    )
    assert failing == [], "\n".join(failing)
