"""Bytes to text for pages whose charset is missing or wrong. The only module that imports charset_normalizer.

Order: the Content-Type charset, a BOM, a `<meta charset>` / XML prolog in the first bytes, strict
UTF-8, then detection (GBK, Big5, Shift_JIS, EUC-KR pages often declare nothing, or the wrong thing).
"""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)["']""", re.IGNORECASE)
_MULTIBYTE = frozenset({"gb18030", "big5hkscs", "cp932", "euc-jp", "cp949", "johab", "utf-8"})
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# declared names whose real-world meaning is a superset: decode with the superset
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",  # codecs' own spelling of Latin-1
    "latin-1": "cp1252",
    "ascii": "cp1252",
    "euc-kr": "cp949",
}


def charset_from_content_type(content_type: str | None) -> str | None:
    """The `charset=` parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def declared_charset(content: bytes) -> str | None:
    """The charset a document declares in its first 4 KB (`<meta charset>` or the XML prolog)."""
    head = content[:4096]
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    return _SUPERSETS.get(canonical.replace("_", "-"), _SUPERSETS.get(canonical, canonical))


def decode_bytes(content: bytes, content_type: str | None = None) -> str:
    """Decode a response body to text; never raises (undecodable bytes become U+FFFD)."""
    for bom, bom_codec in _BOMS:
        if content.startswith(bom):
            return content.decode(bom_codec, errors="replace")
    utf8 = _valid(content, "utf-8")
    declared = _first_declared(content, content_type)
    if declared == "cp1252" and not utf8:
        # a Latin-1 label is often a server default over GBK or Big5: believe it only if detection agrees
        detected = guess_encoding(content)
        return content.decode(detected if detected in _MULTIBYTE else "cp1252", errors="replace")
    # valid non-ASCII UTF-8 is UTF-8 whatever the label says; otherwise the label must fit the bytes
    utf8_evidence = utf8 and not content.isascii()
    if declared not in (None, "utf-8", "cp1252") and not utf8_evidence and _valid(content, declared):
        return content.decode(declared)
    if utf8:
        return content.decode("utf-8")
    return detect_and_decode(content)


def _first_declared(content: bytes, content_type: str | None) -> str | None:
    """The header's charset, else the document's own (an in-document UTF-16/32 label is read as UTF-8 by HTML)."""
    header = _codec(charset_from_content_type(content_type))
    if header:
        return header
    inline = _codec(declared_charset(content))
    return None if inline and inline.startswith(("utf-16", "utf-32")) else inline


def detect_and_decode(content: bytes) -> str:
    """Guess the encoding of undeclared non-UTF-8 bytes (GBK, Big5, Shift_JIS, EUC-KR...)."""
    return content.decode(guess_encoding(content) or "utf-8", errors="replace")


def guess_encoding(content: bytes) -> str | None:
    """The codec name `detect_and_decode` would use, for parsers that want a name, not text."""
    from charset_normalizer import from_bytes  # 27 ms to import, and most pages declare UTF-8

    best = from_bytes(content[:200_000]).best()
    return _codec(best.encoding) if best is not None else None


def _valid(content: bytes, codec: str) -> bool:
    try:
        content.decode(codec)
    except UnicodeDecodeError:
        return False
    return True
