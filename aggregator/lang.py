"""The language of a post, from its text: blogs' `<html lang>` is often the theme's default, not the author's.

Scripts are counted after math (`$…$`), code and URLs are taken out, since TeX and code are Latin
whatever the prose is. Han text is Japanese when kana make a real share of it, Traditional or
Simplified Chinese by the characters only one of them uses. Latin text is named by its stop words
(English, French, German, Spanish); anything less clear-cut is None.
"""

from __future__ import annotations

import re
from collections import Counter

from aggregator.chinese import SIMPLIFIED_MARKERS, TRADITIONAL_MARKERS

MIN_CJK_CHARS = 12  # fewer CJK characters than this (and no Latin prose) is too little to judge
MIN_LATIN_WORDS = 8
SAMPLE_CHARS = 30_000  # a long post's first pages say enough, and keep the cost per post bounded
# separate passes (one alternation of all three is several times slower in `re`), each with literals one
# of its matches must hold: a text without them is not scanned
_NOISE = (
    (("`", "~~~"), re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]*`", re.DOTALL)),  # fenced and inline code
    # TeX as dom.py and Markdown write it
    (("$", "\\(", "\\["), re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)),
    (("http", "www."), re.compile(r"(?:https?://|www\.)[!-~]+")),
)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_KANA = re.compile(r"[\u3041-\u309f\u30a1-\u30fa\u30fd-\u30ff\u31f0-\u31ff]+")  # not the prolonged mark 30fc
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]+")
_TRADITIONAL = re.compile("[" + "".join(sorted(TRADITIONAL_MARKERS)) + "]")
_SIMPLIFIED = re.compile("[" + "".join(sorted(SIMPLIFIED_MARKERS)) + "]")
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿŒœ]+(?:'[a-z]+)?")


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# distinctive stop words: none of them is a common word in the other three languages
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "the and of to is in that it for with as are this be on was by we not or from have an which but can "
        "they at you will their has its if these our when more than been also would there were what how"
    ),
    "fr": _words(
        "le la les des et est une du dans pour que qui sur pas au avec ce sont par plus nous vous cette ou "
        "aux ils elle mais leur être fait comme été très"
    ),
    "de": _words(
        "der die und ist den das nicht mit sich des ein eine auf dem zu für von auch im sind wird werden "
        "dass oder wir bei einer aus nach kann noch wie über"
    ),
    "es": _words(
        "el los las del y que en un una por con para es su al lo como más pero sus le ya o este sí porque "
        "esta entre cuando muy sin sobre también"
    ),
}


def detect_language(text: str) -> str | None:
    """A BCP-47 code for the prose of `text` ("en", "fr", "de", "es", "ja", "ko", "zh-Hans", "zh-Hant",
    or "zh" when the Chinese script is unclear), or None when the text is too short or too mixed to tell.

    Pure and linear in the length of the text; never raises.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    prose = text[:SAMPLE_CHARS]
    for literals, noise in _NOISE:
        if any(literal in prose for literal in literals):
            prose = noise.sub(" ", prose)
    if prose.isascii():  # known without a scan: English posts skip three passes
        han = kana = hangul = 0
    else:
        han, kana, hangul = (sum(map(len, script.findall(prose))) for script in (_HAN, _KANA, _HANGUL))
    cjk = han + kana + hangul
    # a CJK character carries about half an English word; Latin words that are not prose (code, names) count less
    if cjk >= MIN_CJK_CHARS and cjk >= 0.5 * ((len(prose) - cjk + 1) // 2):
        # k words take 2k - 1 characters at least: the rest of the text cannot hold enough of them to win
        return _cjk_language(prose, han, kana, hangul)
    words = _LATIN_WORD.findall(prose)
    latin, clear = _latin_language(words) if len(words) >= MIN_LATIN_WORDS else (None, False)
    if cjk >= MIN_CJK_CHARS and cjk >= (0.5 if clear else 0.25) * len(words):
        return _cjk_language(prose, han, kana, hangul)
    return latin


def _cjk_language(prose: str, han: int, kana: int, hangul: int) -> str | None:
    if hangul >= 0.3 * (han + kana + hangul):
        return "ko"
    if kana >= 0.1 * (han + kana) and kana >= 5:
        return "ja"  # Japanese prose is rarely under a third kana; Chinese quotes a few katakana names at most
    if han < MIN_CJK_CHARS:
        return None
    return chinese_variant(prose)


def chinese_variant(text: str) -> str:
    """ "zh-Hant" or "zh-Hans" when characters used by only one script clearly dominate, else "zh"."""
    traditional = len(_TRADITIONAL.findall(text))
    simplified = len(_SIMPLIFIED.findall(text))
    if traditional >= 3 and traditional >= 4 * simplified:
        return "zh-Hant"
    if simplified >= 3 and simplified >= 4 * traditional:
        return "zh-Hans"
    return "zh"


def _latin_language(words: list[str]) -> tuple[str | None, bool]:
    """The language whose stop words dominate, and whether it is clear-cut prose (not prose diluted by code)."""
    frequency = Counter(map(str.lower, words))
    counts = {
        code: sum(map(frequency.__getitem__, stopwords & frequency.keys())) for code, stopwords in _STOPWORDS.items()
    }
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    (best, top), (_, second) = ranked[0], ranked[1]
    # prose has a stop word every few words; a list of names or identifiers has hardly any,
    # and code mixed into prose dilutes the share but leaves many stop words of one language only
    if top >= max(3, 0.12 * len(words)) and top >= 2 * second:
        return best, True
    return (best, False) if top >= 15 and top >= 3 * second else (None, False)
