"""aggregator.text: title keys, content hashes, text that XML can carry."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.text import content_hash, title_key, xml_safe

# --- title_key ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # full-width Latin (NFKC) and case
        ("ＡＢＣ　Ｔｅｓｔ", "abc test"),
        ("Attention Is All You Need", "attention is all you need"),
        # CJK full-width punctuation is punctuation
        ("深度学习入门：反向传播算法详解", "深度学习入门: 反向传播算法详解"),
        ("深度学习入门：反向传播算法详解", "深度学习入门 反向传播算法详解"),
        ("「機器學習」筆記，第一篇。", "機器學習 筆記 第一篇"),
        ("【论文笔记】Transformer", "论文笔记 transformer"),
        # spacing and ASCII punctuation
        ("Hello,   World!!", "hello world"),
        ("  leading and trailing  ", "leading and trailing"),
        ("Straße", "STRASSE"),
        ("nai\u0308ve", "naïve"),  # decomposed and composed forms
    ],
)
def test_title_key_equal(a: str, b: str) -> None:
    assert title_key(a) == title_key(b)


def test_title_key_values() -> None:
    assert title_key("深度学习入门：反向传播算法详解") == "深度学习入门 反向传播算法详解"
    assert title_key("「機器學習」筆記，第一篇。") == "機器學習 筆記 第一篇"
    assert title_key("ＡＢＣ　Ｔｅｓｔ") == "abc test"
    assert title_key("") == ""
    assert title_key("！？。") == ""


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Part 1", "Part 2"),
        ("深度学习入门", "深度学习进阶"),
        ("机器学习", "機器學習"),  # simplified and traditional are different titles
    ],
)
def test_title_key_different(a: str, b: str) -> None:
    assert title_key(a) != title_key(b)


@settings(deadline=None)
@given(st.text(max_size=80))
def test_title_key_is_idempotent_and_tidy(title: str) -> None:
    key = title_key(title)
    assert title_key(key) == key
    assert key == key.strip()
    assert "  " not in key


# --- content_hash -------------------------------------------------------------------------------


def test_content_hash() -> None:
    h = content_hash("title", "text", "tag")
    assert re.fullmatch(r"[0-9a-f]{32}", h)
    assert h == content_hash("title", "text", "tag")
    assert h != content_hash("title", "text", "tags")
    # part boundaries matter
    assert content_hash("ab", "c") != content_hash("a", "bc")
    assert content_hash(None, "x") == content_hash("", "x")


def test_xml_safe_drops_controls_and_mends_lone_surrogates() -> None:
    assert xml_safe("page\x0cbreak\x00 and\x1b[0m") == "pagebreak and[0m"
    assert xml_safe("tab\tline\ncarriage\r") == "tab\tline\ncarriage\r"  # XML 1.0 allows these three
    assert xml_safe("half an emoji \ud83d here") == "half an emoji \ufffd here"
    assert xml_safe("\ufffe\uffff") == ""
    kept = "注意力 $\\alpha$ 😀 한국어 <b>&amp;</b>"
    assert xml_safe(kept) is kept


@given(st.text())
def test_xml_safe_text_always_makes_well_formed_xml(text: str) -> None:
    safe = xml_safe(text)
    document = f"<a>{escape(safe)}</a>".encode()  # encodes only if no lone surrogate is left
    parsed = ET.fromstring(document).text or ""
    assert parsed == safe.replace("\r\n", "\n").replace("\r", "\n")  # XML reads CR as LF, nothing else changes
    assert xml_safe(safe) == safe
