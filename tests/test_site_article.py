"""Post pages: title, dates, tags and body, per theme, with the traps of real sites."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.dom import html_to_text
from aggregator.sources.site.article import Article, extract_article

DATA = Path(__file__).parent / "data" / "site" / "posts"
URL = "https://blog.example.com/x/"
SITES = ("周弈帆的博客", "detect", "CS Study Group", "Even Blog", "Fluid Blog", "INCOMING TRANSMISSION", "Lil'Log")


def _article(name: str, theme: str | None) -> Article:
    return extract_article((DATA / f"{name}.html").read_text(encoding="utf-8"), URL, theme, SITES)


def _text(article: Article) -> str:
    return html_to_text(article.content_html or "")


# fixture, theme, title, published (UTC), a piece of the body text
CASES = [
    ("next", "next", "入门美股投机三个月收益率100%经验分享", datetime(2022, 10, 3, 6, 42, 25), "其中 $p_0$ 是买入价格"),
    ("butterfly", "butterfly", "Approximating KL Divergence", datetime(2025, 3, 22, 15, 2, 47), "The estimator $x_0$"),
    ("fluid", "fluid", "Flow Matching 笔记", datetime(2024, 3, 9, 14, 20), "$v_t(x)$"),
    (
        "papermod",
        "papermod",
        "An Overview of Deep Learning for Curious People",
        datetime(2017, 6, 21),
        r"\(L(\theta) = -\log p_\theta(y|x)\)",
    ),
    ("stack", "stack", "MoE tutorial", datetime(2025, 12, 13, 8, 4, 4), r"$\mathcal{L}_{aux}"),
    ("notepadium", "notepadium", "CLIP: Connecting Text and Images", datetime(2022, 4, 28), "OpenAI CLIP"),
    ("even", "even", "Transformer 笔记", datetime(2021, 8, 1), r"$\text{softmax}(QK^T/\sqrt{d})V$"),
    ("generic", None, "Score Matching, Slowly", datetime(2024, 5, 22), "Hyvärinen showed"),
]


@pytest.mark.parametrize(("name", "theme", "title", "published", "snippet"), CASES)
def test_post_page(name: str, theme: str | None, title: str, published: datetime, snippet: str) -> None:
    article = _article(name, theme)
    assert article.kind == "post"
    assert article.title == title
    assert article.published == published.replace(tzinfo=UTC)
    assert snippet in _text(article)


def test_unknown_theme_uses_the_same_extraction_without_theme_hint() -> None:
    for name, _, title, _, snippet in CASES:
        article = _article(name, None)
        assert article.title == title
        assert snippet in _text(article)


def test_katex_becomes_tex_and_display_stays_display() -> None:
    article = _article("butterfly", "butterfly")
    html = article.content_html or ""
    assert "katex-html" not in html and "katex-mathml" not in html
    assert r"$$KL(q\|p) = \mathbb{E}_q[\log r]$$" in _text(article)
    assert "x0x_0x0" not in _text(article).replace(" ", "")


def test_mathjax_scripts_become_tex_and_empty_ones_vanish() -> None:
    text = _text(_article("next", "next"))
    assert r"$$r = \frac{p_1 - p_0}{p_0}$$" in text
    assert "$$$ $$$" in text  # prose about MathJax is left alone


def test_dates_tags_author_from_metadata() -> None:
    article = _article("next", "next")
    assert article.updated == datetime(2022, 10, 3, 10, 29, 25, 312000, tzinfo=UTC)
    assert article.tags == ("交易", "入门")
    assert article.author == "Zhou Yifan"
    papermod = _article("papermod", "papermod")
    assert papermod.updated == datetime(2017, 6, 21, tzinfo=UTC)  # article:modified_time before JSON-LD
    assert papermod.author == "Lilian Weng"
    assert papermod.tags == ("Foundation", "Tutorial")


def test_svg_titles_and_sidebars_are_not_the_title_or_body() -> None:
    article = _article("stack", "stack")
    assert article.title == "MoE tutorial"
    assert "Bilibili" not in _text(article)


def test_readability_skips_navigation_and_comments() -> None:
    text = _text(_article("generic", None))
    assert "Other note A" not in text and "Leave a comment" not in text and "All rights reserved" not in text
    assert "trace_jacobian(score)" in text


def test_title_falls_back_to_head_title_without_site_name() -> None:
    html = "<html><head><title>Energy Models | detect</title></head><body><p>x</p></body></html>"
    assert extract_article(html, URL, None, ("detect",)).title == "Energy Models"


def test_alias_and_hexo_page_are_not_posts() -> None:
    assert _article("hugo-alias", None).kind == "alias"
    assert _article("hexo-page", "next").kind == "page"


def test_list_page_fetched_as_a_post_is_a_list() -> None:
    html = (DATA.parent / "lists" / "papermod.html").read_text(encoding="utf-8")
    assert extract_article(html, URL, "papermod", SITES).kind == "list"


@pytest.mark.parametrize("html", ["", "<", "<html><body></body></html>", "\x00\xff garbage <div><p>unclosed"])
def test_never_raises_on_bad_markup(html: str) -> None:
    article = extract_article(html, URL, "next", SITES)
    assert article.published is None
