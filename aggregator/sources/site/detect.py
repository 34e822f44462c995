"""Tell the generator (Hexo, Hugo or neither) and the theme from a home page."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aggregator.dom import Document, meta_content
from aggregator.sources.site.themes import THEMES, Theme

_HEXO_HINTS = re.compile(r"hexo\.io|Powered by\s*(?:<[^>]+>\s*)*Hexo|hexo-theme-|hexo-generator", re.IGNORECASE)
_HUGO_HINTS = re.compile(r"gohugo\.io|Powered by\s*(?:<[^>]+>\s*)*Hugo|themes\.gohugo|hugo-theme-", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a home page says about how the site is built."""

    family: str  # "hexo", "hugo" or "html"
    theme: str | None = None
    generator: str | None = None


def fingerprint(doc: Document, html: str) -> Fingerprint:
    """Generator meta first, then theme markers, then footer and config hints."""
    generator = meta_content(doc, "generator")
    family = family_from_generator(generator)
    theme = detect_theme(doc, html, family)
    if family is None and theme is not None:
        family = theme.family
    if family is None:
        family = family_from_hints(html)
    return Fingerprint(family=family or "html", theme=theme.name if theme else None, generator=generator)


def family_from_generator(generator: str | None) -> str | None:
    """ "Hexo 6.3.0" -> hexo, "Hugo 0.92.1" (or "Hugo 0.x with theme even") -> hugo."""
    lowered = (generator or "").strip().lower()
    if lowered.startswith("hexo"):
        return "hexo"
    if lowered.startswith("hugo"):
        return "hugo"
    return None


def family_from_hints(html: str) -> str | None:
    """Footer credits and asset paths, for sites that turned the generator meta off."""
    hexo = len(_HEXO_HINTS.findall(html))
    hugo = len(_HUGO_HINTS.findall(html))
    if hexo == hugo == 0:
        return None
    return "hexo" if hexo > hugo else "hugo"


def detect_theme(doc: Document, html: str, family: str | None) -> Theme | None:
    """The first theme whose markers match; footer credits break ties when markers say nothing."""
    candidates = [t for t in THEMES if family is None or t.family == family]
    for theme in candidates:
        if theme.markers and doc.css_first(theme.markers) is not None:
            return theme
    for theme in candidates:
        if re.search(theme.footer, html):
            return theme
    return None
