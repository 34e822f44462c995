"""aggregator.encoding: bytes to text when the charset is missing or wrong."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.encoding import charset_from_content_type, declared_charset, decode_bytes, guess_encoding

ZH_HANS = (
    "<html><body><h1>深度学习入门：反向传播算法详解</h1>"
    "<p>本文介绍神经网络的反向传播算法。我们从链式法则开始，逐步推导每一层的梯度，"
    "并用简单的例子说明如何计算损失函数对权重的偏导数。最后讨论梯度消失和梯度爆炸的问题，"
    "以及常见的解决办法。</p></body></html>"
)
ZH_HANT = (
    "<html><body><h1>機器學習筆記：繁體中文部落格</h1>"
    "<p>這篇文章整理了我學習機器學習的筆記。內容包括線性回歸、邏輯回歸、支持向量機與決策樹，"
    "每一個主題都附上數學推導和程式範例。希望對正在學習的讀者有所幫助。</p></body></html>"
)
JA = (
    "<html><body><h1>機械学習の勉強ノート：勾配降下法</h1>"
    "<p>この記事では、勾配降下法の基本的な考え方を説明します。損失関数の傾きを計算し、"
    "パラメータを少しずつ更新していくことで、最適な値に近づけていきます。"
    "学習率の選び方についても簡単に紹介します。</p></body></html>"
)
KO = (
    "<html><body><h1>머신러닝 공부 노트: 경사 하강법</h1>"
    "<p>이 글에서는 경사 하강법의 기본 개념을 설명합니다. 손실 함수의 기울기를 계산하고 "
    "매개변수를 조금씩 업데이트하여 최적의 값에 가까워집니다. 학습률을 선택하는 방법도 간단히 소개합니다.</p>"
    "</body></html>"
)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (ZH_HANS, "gbk"),
        (ZH_HANS, "gb18030"),
        (ZH_HANS, "gb2312"),
        (ZH_HANT, "big5"),
        (ZH_HANT, "gbk"),  # traditional characters in a mainland encoding
        (JA, "shift_jis"),
        (JA, "euc-jp"),
        (KO, "euc-kr"),
        (ZH_HANS, "utf-8"),
        (JA, "utf-8"),
    ],
)
def test_undeclared_legacy_encodings_are_detected(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding)) == text


@pytest.mark.parametrize(
    ("text", "encoding", "declared"),
    [
        (ZH_HANS, "gbk", "gb2312"),  # a gb2312 declaration is read as its superset
        (ZH_HANT, "big5", "big5"),
        (JA, "shift_jis", "Shift_JIS"),
        (KO, "euc-kr", "EUC-KR"),
    ],
)
def test_declared_legacy_encodings(text: str, encoding: str, declared: str) -> None:
    data = text.encode(encoding)
    assert decode_bytes(data, f"text/html; charset={declared}") == text
    with_meta = text.replace("<html>", f'<html><head><meta charset="{declared}"></head>')
    assert decode_bytes(with_meta.encode(encoding)) == with_meta


def test_superset_characters_of_a_declared_charset() -> None:
    # 镕 is in GBK but not in GB2312; pages that say gb2312 routinely use it
    text = "<p>朱镕基与深度学习无关，但这个字不在 GB2312 里。</p>" * 3
    assert decode_bytes(text.encode("gbk"), "text/html; charset=gb2312") == text


def test_utf8_declaration_on_gbk_bytes_is_overruled() -> None:
    page = ZH_HANS.replace("<html>", '<html><head><meta charset="utf-8"></head>')
    assert decode_bytes(page.encode("gbk")) == page
    assert decode_bytes(ZH_HANS.encode("gbk"), "text/html; charset=utf-8") == ZH_HANS


def test_xml_prolog_declaration() -> None:
    feed = '<?xml version="1.0" encoding="GB2312"?><rss><channel><title>深度学习笔记</title></channel></rss>'
    assert decode_bytes(feed.encode("gbk")) == feed
    assert declared_charset(feed.encode("gbk")) == "GB2312"


@pytest.mark.parametrize("declared", ["iso-8859-1", "ISO-8859-1", "latin-1", "latin1"])
def test_latin1_header_on_utf8_bytes(declared: str) -> None:
    assert decode_bytes(ZH_HANS.encode("utf-8"), f"text/html; charset={declared}") == ZH_HANS


def test_latin1_declaration_means_cp1252() -> None:
    text = "<p>The “naïve” résumé — café crème.</p>"
    assert decode_bytes(text.encode("cp1252"), "text/html; charset=iso-8859-1") == text


def test_gbk_meta_on_utf8_bytes() -> None:
    page = ZH_HANS.replace("<html>", '<html><head><meta charset="gbk"></head>')
    assert decode_bytes(page.encode("utf-8")) == page


def test_utf16_declaration_in_ascii_compatible_bytes() -> None:
    page = '<html><head><meta charset="utf-16"></head><body><p>深度学习 notes</p></body></html>'
    assert decode_bytes(page.encode("utf-8")) == page


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_bom_wins(bom: bytes, encoding: str) -> None:
    data = bom + ZH_HANS.encode(encoding)
    assert decode_bytes(data) == ZH_HANS
    # a BOM beats a wrong header
    assert decode_bytes(data, "text/html; charset=gbk") == ZH_HANS


def test_utf8_bom_is_not_in_the_text() -> None:
    assert decode_bytes(codecs.BOM_UTF8 + b"<rss/>") == "<rss/>"


def test_unknown_declared_charset_falls_back() -> None:
    assert decode_bytes(ZH_HANS.encode("utf-8"), "text/html; charset=x-no-such-charset") == ZH_HANS


def test_empty_and_ascii() -> None:
    assert decode_bytes(b"") == ""
    assert decode_bytes(b"<p>plain ascii</p>", "text/html") == "<p>plain ascii</p>"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("text/html; charset=UTF-8", "UTF-8"),
        ('text/html; charset="gbk"', "gbk"),
        ("text/html;charset=big5", "big5"),
        ("application/rss+xml", None),
        ("", None),
        (None, None),
    ],
)
def test_charset_from_content_type(header: str | None, expected: str | None) -> None:
    assert charset_from_content_type(header) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<html><head><meta charset="gbk">', "gbk"),
        (b"<html><head><meta charset=big5>", "big5"),
        (b'<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">', "Shift_JIS"),
        (b'<?xml version="1.0" encoding="euc-kr"?><rss/>', "euc-kr"),
        (b"<html><body>no declaration</body></html>", None),
        (b" " * 5000 + b'<meta charset="gbk">', None),  # only the first 4 KB count
    ],
)
def test_declared_charset(head: bytes, expected: str | None) -> None:
    assert declared_charset(head) == expected


def test_guess_encoding_names_a_codec() -> None:
    codec = guess_encoding(ZH_HANS.encode("gbk"))
    assert codec is not None
    assert ZH_HANS.encode("gbk").decode(codec) == ZH_HANS


@settings(deadline=None)
@given(
    st.binary(max_size=400),
    st.one_of(
        st.none(),
        st.sampled_from(
            [
                "text/html",
                "text/html; charset=utf-8",
                "text/html; charset=gbk",
                "text/xml; charset=bogus",
                "text/html; charset=iso-8859-1",
                "text/html; charset=utf-16",
            ]
        ),
    ),
)
def test_decode_bytes_never_raises(data: bytes, content_type: str | None) -> None:
    assert isinstance(decode_bytes(data, content_type), str)


@settings(deadline=None)
@given(st.text(max_size=200))
def test_utf8_round_trips(text: str) -> None:
    data = text.encode("utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or "charset" in text or "encoding" in text:
        return
    assert decode_bytes(data) == text.removeprefix("\ufeff")
