"""aggregator.excerpt: excerpts that never cut a word or a formula, truncation and read-more detection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.excerpt import _TOKEN as TOKEN
from aggregator.excerpt import _TRAILING_JUNK as TRAILING_JUNK
from aggregator.excerpt import EXCERPT_CHARS, looks_truncated, make_excerpt, strip_read_more

ELLIPSIS = "…"

# --- make_excerpt -------------------------------------------------------------------------------


def test_make_excerpt_short_text_unchanged() -> None:
    assert make_excerpt("A short note about gradients.") == "A short note about gradients."
    assert make_excerpt("深度学习入门：反向传播算法详解") == "深度学习入门：反向传播算法详解"
    assert make_excerpt("") == ""


def test_make_excerpt_collapses_whitespace() -> None:
    assert make_excerpt("one\n two\t\tthree") == "one two three"


def test_make_excerpt_exact_limit_not_cut() -> None:
    text = "abcde fghij"
    assert make_excerpt(text, len(text)) == text


def test_make_excerpt_latin_cut_between_words() -> None:
    text = " ".join(["gradient"] * 100)
    excerpt = make_excerpt(text)
    assert excerpt.endswith(ELLIPSIS)
    body = excerpt[: -len(ELLIPSIS)]
    assert len(body) <= EXCERPT_CHARS
    assert all(word == "gradient" for word in body.split(" "))
    assert text.startswith(body)


def test_make_excerpt_never_cuts_a_latin_word() -> None:
    text = "Backpropagation computes gradients efficiently through reverse-mode differentiation."
    for limit in range(5, len(text)):
        excerpt = make_excerpt(text, limit)
        body = excerpt.removesuffix(ELLIPSIS)
        assert text.startswith(body)
        following = text[len(body) : len(body) + 1]
        # the cut falls after a whole word: the next character is not a letter
        assert not (body and body[-1].isalnum() and following.isalnum()), (limit, excerpt)


def test_make_excerpt_trailing_punctuation_dropped() -> None:
    assert make_excerpt("alpha, beta gamma delta", 6) == "alpha" + ELLIPSIS
    assert make_excerpt("第一句话。第二句话。第三句话。", 5) == "第一句话" + ELLIPSIS


def test_make_excerpt_cjk_counts_characters_and_uses_half_limit() -> None:
    text = "反向传播算法是深度学习的核心，" * 20  # 300 CJK characters
    excerpt = make_excerpt(text)
    assert excerpt.endswith(ELLIPSIS)
    body = excerpt[: -len(ELLIPSIS)]
    assert len(body) <= EXCERPT_CHARS // 2
    assert len(body) >= EXCERPT_CHARS // 2 - 2
    assert text.startswith(body)


def test_make_excerpt_japanese_and_korean() -> None:
    ja = "この記事では、勾配降下法の基本的な考え方を説明します。" * 10
    excerpt = make_excerpt(ja)
    assert len(excerpt) <= EXCERPT_CHARS // 2 + 1
    assert excerpt.endswith(ELLIPSIS)
    ko = "이 글에서는 경사 하강법의 기본 개념을 설명합니다. " * 10
    assert len(make_excerpt(ko)) <= EXCERPT_CHARS // 2 + 1


def _excerpt_by_tokens(text: str, limit: int) -> str:
    """make_excerpt as first written: whole tokens (excerpt._TOKEN) while they fit, the first one whatever its size."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    out: list[str] = []
    size = 0
    for match in TOKEN.finditer(text):
        token = match.group(0)
        if size + len(token) > limit and size > 0:
            break
        out.append(token)
        size += len(token)
        if size >= limit:
            break
    return TRAILING_JUNK.sub("", "".join(out)) + ELLIPSIS


# letters, digits and "_" (words), CJK, Hangul and fullwidth forms (one character each), combining marks,
# spaces and punctuation; and with the TeX delimiters that make a formula one token
_PROSE = "ab_Z9é\u0301αβ٣注意力机制한국어ｆ１。，.,;!?-( )\n\t"
_EXCERPT_TEXTS = st.one_of(
    st.text(alphabet=_PROSE, min_size=20, max_size=300), st.text(alphabet=_PROSE + "$\\[]", min_size=20, max_size=300)
)


@settings(max_examples=600, deadline=None)
@given(_EXCERPT_TEXTS, st.integers(min_value=1, max_value=60))
def test_make_excerpt_cuts_where_whole_tokens_stop(text: str, limit: int) -> None:
    # without a formula before the limit, the cut is found from the characters around it, not token by token
    assert make_excerpt(text, limit) == _excerpt_by_tokens(text, limit)


@pytest.mark.parametrize(
    "text",
    [
        "The loss is $L = \\sum_i (y_i - \\hat y_i)^2$ and we minimise it with gradient descent steps.",
        "Consider $$\\int_0^1 f(x)\\,dx = F(1) - F(0)$$ which is the fundamental theorem of calculus.",
        "Inline \\(a^2 + b^2 = c^2\\) and display \\[e^{i\\pi} + 1 = 0\\] are both TeX delimiters here.",
        "损失函数 $L(\\theta) = \\frac{1}{n}\\sum_{i=1}^{n} \\ell(f_\\theta(x_i), y_i)$ 的梯度可以用反向传播计算。" * 3,
    ],
)
def test_make_excerpt_never_cuts_a_formula(text: str) -> None:
    for limit in range(3, len(text), 3):
        excerpt = make_excerpt(text, limit)
        body = excerpt.removesuffix(ELLIPSIS)
        assert text.startswith(body)
        # balanced delimiters: a formula is either wholly in or wholly out
        without_display = body.replace("$$", "")
        assert body.count("$$") % 2 == 0, (limit, excerpt)
        assert without_display.count("$") % 2 == 0, (limit, excerpt)
        assert body.count("\\(") == body.count("\\)"), (limit, excerpt)
        assert body.count("\\[") == body.count("\\]"), (limit, excerpt)


def test_make_excerpt_formula_at_the_cut_is_left_out() -> None:
    text = "The loss is $L = \\sum_i (y_i - \\hat y_i)^2$ and more words follow here"
    assert make_excerpt(text, 20) == "The loss is" + ELLIPSIS


@settings(deadline=None)
@given(st.text(max_size=600), st.integers(min_value=1, max_value=300))
def test_make_excerpt_is_a_prefix(text: str, limit: int) -> None:
    collapsed = " ".join(text.split())
    excerpt = make_excerpt(text, limit)
    if len(collapsed) <= limit:
        assert excerpt == collapsed
    else:
        assert excerpt.endswith(ELLIPSIS)
        assert collapsed.startswith(excerpt[: -len(ELLIPSIS)])


# --- looks_truncated / strip_read_more ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "We derive the gradient step by step...",
        "We derive the gradient step by step…",
        "We derive the gradient [...]",
        "We derive the gradient […]",
        "We derive the gradient &hellip;",
        "We derive the gradient. Read more »",
        "We derive the gradient. Continue reading →",
        "本文介绍反向传播算法 阅读全文",
        "這篇文章整理了筆記 閱讀全文 »",
        "이 글에서는 경사 하강법을 설명합니다 더 보기",
        "勾配降下法を説明します 続きを読む",
        "Trailing spaces too…   ",
    ],
)
def test_looks_truncated(text: str) -> None:
    assert looks_truncated(text)


@pytest.mark.parametrize(
    "text",
    ["A complete sentence.", "深度学习入门：反向传播算法详解。", "Tell me more.", "", "Ends with a formula $x$"],
)
def test_not_truncated(text: str) -> None:
    assert not looks_truncated(text)


@pytest.mark.parametrize("text", ["Nobody uses Theano anymore", "The gradient vanishes evermore", "Sophomore"])
def test_words_ending_in_more_are_not_read_more(text: str) -> None:
    assert not looks_truncated(text)
    assert strip_read_more(text) == text


def test_wordpress_hellip_in_brackets_is_truncated() -> None:
    assert looks_truncated("An introduction to attention [&hellip;]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We derive the gradient. Read more »", "We derive the gradient."),
        ("We derive the gradient. READ MORE", "We derive the gradient."),
        ("We derive the gradient. Continue reading →", "We derive the gradient."),
        ("We derive the gradient. Read more >>", "We derive the gradient."),
        ("本文介绍反向传播算法 阅读全文", "本文介绍反向传播算法"),
        ("本文介绍反向传播算法 阅读更多 »", "本文介绍反向传播算法"),
        ("這篇文章整理了筆記 閱讀全文", "這篇文章整理了筆記"),
        ("경사 하강법을 설명합니다 더 보기", "경사 하강법을 설명합니다"),
        ("勾配降下法を説明します 続きを読む", "勾配降下法を説明します"),
        ("A plain excerpt.", "A plain excerpt."),
        ("Read more about it below: the end.", "Read more about it below: the end."),
    ],
)
def test_strip_read_more(text: str, expected: str) -> None:
    assert strip_read_more(text) == expected
