"""Sitemaps, search indexes and the post-or-not URL rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.sources.site.filters import UrlShapes, is_non_post_url, section_roots
from aggregator.sources.site.indexes import parse_search_index, parse_sitemap, robots_sitemaps

DATA = Path(__file__).parent / "data" / "site" / "indexes"
HOME = "https://blog.example.com/"


def _bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_sitemap_urls_and_lastmod() -> None:
    data = parse_sitemap(_bytes("sitemap.xml"), HOME + "sitemap.xml")
    assert len(data.entries) == 7 and data.children == []
    first, second, cjk = data.entries[:3]
    assert first.url == HOME + "posts/2024-05-22-diffusion/"
    assert first.lastmod == datetime(2024, 5, 23, 2, 0, tzinfo=UTC)  # time zone kept, then UTC
    assert second.lastmod == datetime(2024, 4, 1, tzinfo=UTC)
    assert cjk.url.endswith("/posts/%E6%89%A9%E6%95%A3/") and cjk.lastmod is None


def test_sitemap_index_gives_children() -> None:
    data = parse_sitemap(_bytes("sitemap-index.xml"), HOME + "sitemap.xml")
    assert data.children == [HOME + "en/sitemap.xml", HOME + "zh/sitemap.xml"]
    assert data.entries == []


def test_sitemap_txt_and_html_are_told_apart() -> None:
    data = parse_sitemap(_bytes("sitemap.txt"), HOME + "sitemap.txt")
    assert [e.url for e in data.entries] == [HOME + "2024/05/22/attention/", HOME + "2024/05/01/%E6%89%A9%E6%95%A3/"]
    assert parse_sitemap(b"<!DOCTYPE html><html><body>404</body></html>", HOME).entries == []


def test_robots_sitemap_lines() -> None:
    assert robots_sitemaps(_bytes("robots.txt"), HOME + "robots.txt") == [
        HOME + "blog/sitemap.xml",
        HOME + "sitemap-posts.xml",
    ]


def test_hexo_search_xml_urls_titles_and_tags() -> None:
    entries = parse_search_index(_bytes("search.xml"), HOME + "search.xml")
    assert [e.url for e in entries] == [HOME + "2024/05/22/attention-notes/", HOME + "2024/05/01/qa/"]
    assert entries[0].title == "Attention Notes" and entries[1].title == "Q & A"
    assert entries[0].tags == ("attention", "transformer")


def test_json_search_indexes() -> None:
    stack = parse_search_index(_bytes("stack-search.json"), HOME + "search/index.json")
    assert stack[0].published == datetime(2026, 4, 15, 1, 50, 39, tzinfo=UTC)
    assert stack[1].published is None  # Hugo's 0001-01-01
    icarus = parse_search_index(_bytes("content.json"), HOME + "content.json")
    assert [e.title for e in icarus] == ["KL Divergence", "Entropy"]  # pages are not in "posts"
    loveit = parse_search_index(_bytes("loveit-index.json"), HOME + "index.json")
    assert len(loveit) == 1 and loveit[0].tags == ("gan",)  # one record per section, one post


@pytest.mark.parametrize("content", [b"", b"{", b"[1, 2, null]", b"<search><entry></entry></search>", b"\xff\xfe"])
def test_search_index_garbage(content: bytes) -> None:
    assert parse_search_index(content, HOME) == []


@pytest.mark.parametrize(
    ("url", "non_post"),
    [
        (HOME, True),
        (HOME + "tags/ml/", True),
        (HOME + "categories/a/b/", True),
        (HOME + "page/3/", True),
        (HOME + "archives/2024/05/", True),
        (HOME + "about/", True),
        (HOME + "search/", True),
        (HOME + "atom.xml", True),
        (HOME + "img/cover.png", True),
        ("https://other.example.org/2024/05/22/x/", True),
        (HOME + "2024/05/22/attention/", False),
        (HOME + "post/e5691.html", False),
        (HOME + "p/notes-on-olmoe/", False),
        (HOME + "posts/%E6%89%A9%E6%95%A3/", False),
        (HOME + "notes/langevin dynamics.html", False),
    ],
)
def test_non_post_urls(url: str, non_post: bool) -> None:
    assert is_non_post_url(url, HOME) is non_post


def test_sub_path_site_judges_below_its_root() -> None:
    home = "https://example.com/blog/"
    assert is_non_post_url(home, home)
    assert is_non_post_url(home + "tags/x/", home)
    assert not is_non_post_url(home + "2024/01/01/x/", home)


def test_shapes_learned_from_posts() -> None:
    shapes = UrlShapes(HOME)
    shapes.learn([HOME + "ai/2022-04/220428-clip/", HOME + "ai/2022-05/220508-palm/", HOME + "ai/2022-09/x/"])
    assert shapes.confident
    assert shapes.matches(HOME + "algorithm/2022-03/220322-big-o/")  # another section, same dated shape
    assert not shapes.matches(HOME + "help/")
    assert not shapes.plausible(HOME + "help/")
    stack = UrlShapes(HOME)
    stack.learn([HOME + "p/a/", HOME + "p/b/", HOME + "p/c/"])
    assert stack.matches(HOME + "p/%E5%88%86/") and not stack.matches(HOME + "post/")


def test_section_roots() -> None:
    urls = [HOME + "ai/", HOME + "ai/2022-01/x/", HOME + "algorithm/", HOME + "algorithm/2022-03/y/", HOME + "help/"]
    assert section_roots(urls) == {"/ai/", "/algorithm/"}
