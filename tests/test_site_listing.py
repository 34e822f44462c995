"""List pages of every supported theme: the posts they show, their dates, and the next page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.dom import parse_html
from aggregator.sources.site.detect import fingerprint
from aggregator.sources.site.listing import parse_list_page

DATA = Path(__file__).parent / "data" / "site" / "lists"
HOME = "https://blog.example.com/"

# fixture: (family, theme, first post URL path, first title, first date, next page path or None)
CASES = {
    "next": ("hexo", "next", "/2024/05/22/attention-notes/", "Attention Notes", "2024-05-22T02:00", "/page/2/"),
    "butterfly": ("hexo", "butterfly", "/post/9944f673.html", "Math Guide", "2025-06-27T17:21:48", "/page/2/"),
    "fluid": ("hexo", "fluid", "/2024/03/09/flow-matching/", "Flow Matching 笔记", "2024-03-09T14:20", "/page/2/"),
    "icarus-last": ("hexo", "icarus", "/2023/11/02/kl-divergence/", "KL Divergence", "2023-11-02T12:00", None),
    "keep": ("hexo", "keep", "/2024/01/15/gradient-descent/", "Gradient Descent", "2024-01-15T00:00", "/page/2/"),
    "redefine": ("hexo", "redefine", "/2024/04/10/lora/", "LoRA in Practice", "2024-04-10T12:30", "/page/2/"),
    "stellar": ("hexo", "stellar", "/2024/06/01/rope/", "RoPE 旋转位置编码", "2024-06-01T02:00", "/page/2/"),
    "papermod": (
        "hugo",
        "papermod",
        "/posts/2026-07-04-harness/",
        "Harness Engineering for Self-Improvement",
        "2026-07-04T00:00",
        "/page/2/",
    ),
    "stack": (
        "hugo",
        "stack",
        "/p/notes-on-openmath-nemotron/",
        "Notes on OpenMath-Nemotron",
        "2026-04-15T01:50:39",
        "/page/2/",
    ),
    "notepadium": (
        "hugo",
        "notepadium",
        "/ai/2022-09/220923-whisper/",
        "Whisper: Robust Speech Recognition via Large-Scale Weak Supervision",
        "2022-09-23T00:00",
        "/page/2/",
    ),
    "even": ("hugo", "even", "/post/transformer-notes/", "Transformer 笔记", "2021-08-01T00:00", "/page/2/"),
    "loveit": ("hugo", "loveit", "/posts/gan-training/", "GAN Training Tricks", "2023-02-10T00:00", "/page/2/"),
    "congo": (
        "hugo",
        "congo",
        "/posts/contrastive-learning/",
        "Contrastive Learning",
        "2024-05-22T00:00",
        "/posts/page/2/",
    ),
    "blowfish": (
        "hugo",
        "blowfish",
        "/posts/mixture-of-experts/",
        "Mixture of Experts",
        "2024-08-01T08:00",
        "/page/2/",
    ),
    "ananke-section": ("hugo", "ananke", "/posts/policy-gradient/", "Policy Gradient", None, "/posts/page/2/"),
    "generic": (
        "html",
        None,
        "/notes/score-matching.html",
        "Score Matching, Slowly",
        "2024-05-22T00:00",
        "/stream/2.html",
    ),
}


def _read(name: str) -> str:
    return (DATA / f"{name}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_fingerprint(name: str) -> None:
    family, theme, *_ = CASES[name]
    html = _read(name)
    found = fingerprint(parse_html(html), html)
    assert (found.family, found.theme) == (family, theme)


@pytest.mark.parametrize("name", sorted(CASES))
def test_list_page(name: str) -> None:
    _, theme, path, title, date, next_path = CASES[name]
    page = parse_list_page(_read(name), HOME, HOME, theme)
    assert len(page.items) >= 2
    first = page.items[0]
    assert first.url == HOME.rstrip("/") + path
    assert first.title == title
    if date is None:
        assert first.published is None
    else:
        assert first.published is not None and first.published.tzinfo is not None
        assert first.published.astimezone(UTC).isoformat().startswith(date)
    assert page.next_url == (HOME.rstrip("/") + next_path if next_path else None)


def test_every_item_is_a_post_link() -> None:
    page = parse_list_page(_read("butterfly"), HOME, HOME, "butterfly")
    assert [item.url for item in page.items] == [
        "https://blog.example.com/post/9944f673.html",
        "https://blog.example.com/post/2cc570d5.html",
    ]  # tag links in the item meta are not posts


def test_next_index_prints_whole_posts_without_read_more() -> None:
    page = parse_list_page(_read("next"), HOME, HOME, "next")
    folded, whole = page.items
    assert not folded.excerpt_is_full  # "Read more »" below a short excerpt
    assert whole.excerpt_is_full and "<pre>" in (whole.excerpt_html or "")


def test_generic_keeps_spaces_and_cjk_dates() -> None:
    page = parse_list_page(_read("generic"), HOME, HOME, None)
    urls = [item.url for item in page.items]
    assert "https://blog.example.com/notes/langevin dynamics.html" in urls
    assert page.items[1].published == datetime(2024, 4, 30, tzinfo=UTC)
    assert len(urls) == 3  # the sidebar's short link list is not the post list


def test_hugo_first_page_alias_is_reported() -> None:
    html = (DATA.parent / "posts" / "hugo-alias.html").read_text(encoding="utf-8")
    page = parse_list_page(html, HOME + "page/1/", HOME, "papermod")
    assert page.refresh_to == HOME
    assert page.items == []


def test_minified_unquoted_attributes() -> None:
    html = (
        "<ul class=note><li class=x><a href=/a/1/><h2>One</h2><time datetime=2024-01-02>x</time></a></li>"
        "<li class=x><a href=/a/2/><h2>Two</h2><time datetime=2024-01-01>y</time></a></li></ul>"
    )
    page = parse_list_page(html, HOME, HOME, None)
    assert [(i.url, i.title) for i in page.items] == [(HOME + "a/1/", "One"), (HOME + "a/2/", "Two")]


def test_no_links_no_items() -> None:
    page = parse_list_page("<html><body><p>nothing here</p></body></html>", HOME, HOME, None)
    assert page.items == [] and page.next_url is None
