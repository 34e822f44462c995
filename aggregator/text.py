"""Plain-text helpers: title keys for dedup, text that XML can carry, content hashes (excerpts: `excerpt`)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# what XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF): one form feed
# pasted from a PDF would otherwise make every Atom/RSS export of the store fail
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


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


def content_hash(*parts: str | None) -> str:
    """A short stable hash of the parts that make a post's visible content."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update((part or "").encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()
