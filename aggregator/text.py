"""Plain-text helpers: title keys for dedup, excerpts that never cut a word or a formula, hashes."""

from __future__ import annotations

import hashlib
import re
import unicodedata

EXCERPT_CHARS = 240  # Latin text; CJK text, about twice as dense, gets half
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\u3040-\u30ff]")
_ELLIPSIS = "…"
_WORD = r"[^\W\u2e80-\u9fff\uac00-\ud7af\u3040-\u30ff\uff00-\uffef]"  # a word character that is not CJK
# one token: a formula (kept whole), a run of Latin letters/digits (a word), one CJK character, or one other character
_TOKEN = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$|\\\(.+?\\\)|\\\[.+?\\\]" + f"|{_WORD}+|.", re.DOTALL)
_WORD_CHAR = re.compile(_WORD)
_WORD_RUN = re.compile(_WORD + "+")
# what XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF): one form feed
# pasted from a PDF would otherwise make every Atom/RSS export of the store fail
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TRAILING_JUNK = re.compile(r"[\s,.;:，。；：、!?！？…\-–—(（\[【「『\"']+$")
_READ_MORE = re.compile(
    r"(\s*(\b(?:read more|continue reading)\b|\bmore\s*[»›>→]|阅读全文|閱讀全文|阅读更多|더 보기|続きを読む)"
    r"\s*[»›>→]*\s*)$",
    re.IGNORECASE,
)


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids: controls dropped, lone surrogates made U+FFFD."""
    if not _NOT_XML.search(text):
        return text
    return _NOT_XML.sub(lambda m: "\ufffd" if "\ud800" <= m[0] <= "\udfff" else "", text)


def with_final_newline(text: str) -> str:
    """`text` with the newline a text file (and a terminal) expects at its end."""
    return text if text.endswith("\n") else text + "\n"


def title_key(title: str) -> str:
    """Fold a title for comparison: NFKC, case-folded, punctuation and spacing collapsed to single spaces."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    kept = "".join(ch if unicodedata.category(ch)[0] in "LNM" else " " for ch in folded)
    return " ".join(kept.split())


def make_excerpt(text: str, limit: int | None = None) -> str:
    """The start of `text`, at most about `limit` characters, cut between words and never inside a formula.

    The default limit counts characters: EXCERPT_CHARS for Latin text, half of it for CJK text.
    """
    text = " ".join(text.split())
    if limit is None:
        sample = text[:400]
        limit = EXCERPT_CHARS // 2 if len(_CJK.findall(sample)) > 0.3 * max(1, len(sample)) else EXCERPT_CHARS
    if len(text) <= limit:
        return text
    return _TRAILING_JUNK.sub("", _cut(text, limit)) + _ELLIPSIS


def _cut(text: str, limit: int) -> str:
    """The tokens of `text` that fit in `limit` characters (the first token whole, however long)."""
    if "$" in text[:limit] or "\\" in text[:limit]:  # a formula may start here: only tokenising finds its end
        out: list[str] = []
        size = 0
        for match in _TOKEN.finditer(text):
            token = match.group(0)
            if size + len(token) > limit and size > 0:
                break
            out.append(token)
            size += len(token)
            if size >= limit:
                break
        return "".join(out)
    # else the tokens there are words and single characters, and they tile the text: cut at `limit`, or before
    # the word that runs across it (a character at a time, 120 of them for CJK, took 27 us a post)
    if not (_WORD_CHAR.match(text[limit - 1]) and _WORD_CHAR.match(text[limit])):
        return text[:limit]
    start = limit - 1
    while start > 0 and _WORD_CHAR.match(text[start - 1]):
        start -= 1
    if start > 0:
        return text[:start]
    first = _WORD_RUN.match(text)
    assert first is not None  # text[0] is a word character
    return text[: first.end()]


def strip_read_more(text: str) -> str:
    """Drop a trailing "Read more »" and the like from a list-page excerpt."""
    head, tail = text[:-200], text[-200:]  # a read-more link is at the end: scan only the tail
    return (head + _READ_MORE.sub("", tail)).rstrip()


def looks_truncated(text: str) -> bool:
    """True for a site's own cut excerpt: it ends with an ellipsis or a read-more link text."""
    stripped = text.rstrip()
    return stripped.endswith(("...", "…", "&hellip;", "[…]", "[...]", "[&hellip;]")) or bool(
        _READ_MORE.search(stripped)
    )


def content_hash(*parts: str | None) -> str:
    """A short stable hash of the parts that make a post's visible content."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update((part or "").encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()
