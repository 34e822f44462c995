"""Whole sites through a mock HTTP server: discovery order, merging, incremental runs, the page budget."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from aggregator.config import Settings, SourceConfig
from aggregator.errors import ParseError
from aggregator.http_client import HttpClient
from aggregator.models import KnownPost, SourceOutput
from aggregator.normalize import normalize_posts
from aggregator.sources import auto, site
from aggregator.sources.base import SourceContext
from aggregator.urls import url_key

DATA = Path(__file__).parent / "data" / "site"
NOW = datetime(2026, 11, 21, tzinfo=UTC)
HOME = "https://blog.example.com/"
SETTINGS = Settings(retries=0)


class FakeSite:
    """A MockTransport handler: path -> (content type, body); strong ETags; counts every path it serves."""

    def __init__(self, pages: dict[str, tuple[str, str]]) -> None:
        self.pages = pages
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        self.paths.append(path)
        if path not in self.pages:
            return httpx.Response(404, text="not found")
        kind, body = self.pages[path]
        etag = '"' + hashlib.sha1(body.encode()).hexdigest() + '"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        return httpx.Response(200, headers={"content-type": kind, "etag": etag}, content=body.encode())


def _html(body: str, head: str = "") -> tuple[str, str]:
    return "text/html; charset=utf-8", f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


def _butterfly_item(path: str, title: str, date: str) -> str:
    return (
        f'<div class="recent-post-item"><div class="recent-post-info"><a class="article-title" href="{path}" '
        f'title="{title}">{title}</a><time datetime="{date}">x</time><div class="content">{title} ...</div>'
        "</div></div>"
    )


def _butterfly_post(title: str, date: str, body: str) -> tuple[str, str]:
    head = (
        f'<title>{title} | detect</title><meta property="og:title" content="{title}">'
        f'<meta property="article:published_time" content="{date}"><meta name="generator" content="Hexo 6.3.0">'
    )
    return _html(
        f'<div id="post-info"><h1 class="post-title">{title}</h1></div>'
        f'<article class="post-content" id="article-container">{body}</article>',
        head,
    )


def butterfly_site() -> dict[str, tuple[str, str]]:
    """No feed, no sitemap, no search index: only the home list and its next page."""
    head = '<title>detect</title><meta name="generator" content="Hexo 6.3.0">'
    katex = (
        '<span class="katex"><span class="katex-mathml"><math><semantics><mrow><mi>x</mi></mrow>'
        '<annotation encoding="application/x-tex">x_0</annotation></semantics></math></span>'
        '<span class="katex-html" aria-hidden="true">x0</span></span>'
    )
    return {
        "/": _html(
            '<div id="recent-posts">'
            + _butterfly_item("/post/a1.html", "Alpha", "2025-01-03T00:00:00Z")
            + _butterfly_item("/post/b2.html", "Beta", "2025-01-02T00:00:00Z")
            + "</div>"
            '<nav id="pagination"><a class="extend next" rel="next" href="/page/2/#content-inner">&gt;</a></nav>',
            head,
        ),
        "/page/2/": _html(
            '<div id="recent-posts">' + _butterfly_item("/post/c3.html", "Gamma", "2025-01-01T00:00:00Z") + "</div>",
            head,
        ),
        "/post/a1.html": _butterfly_post("Alpha", "2025-01-03T00:00:00.000Z", f"<p>Alpha uses {katex} a lot.</p>"),
        "/post/b2.html": _butterfly_post("Beta", "2025-01-02T00:00:00.000Z", "<p>Beta body text.</p>"),
        "/post/c3.html": _butterfly_post("Gamma", "2025-01-01T00:00:00.000Z", "<p>Gamma body text.</p>"),
        "/tags/x/": _html("<p>tag page</p>"),
    }


def _rss(items: list[tuple[str, str, str, str]]) -> tuple[str, str]:
    body = "".join(
        f"<item><title>{t}</title><link>{HOME.rstrip('/')}{p}</link><pubDate>{d}</pubDate>"
        f"<description><![CDATA[{desc}]]></description></item>"
        for t, p, d, desc in items
    )
    return (
        "application/rss+xml",
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Log</title>{body}</channel></rss>',
    )


def _papermod_post(title: str, date: str, paragraphs: int) -> tuple[str, str]:
    head = (
        f'<title>{title} | Log</title><meta property="og:title" content="{title}" />'
        f'<meta property="article:published_time" content="{date}" />'
    )
    text = "".join(
        f"<p>Paragraph {i} of {title} with math $a_{i}$ and more words to read.</p>" for i in range(paragraphs)
    )
    return _html(
        f'<article class="post-single"><h1 class="post-title">{title}</h1>'
        f'<div class="post-content">{text}</div></article>',
        head,
    )


def papermod_site() -> dict[str, tuple[str, str]]:
    """A summary-only feed (with an undated FAQ page), a sitemap index, and one post only the sitemap lists."""
    summary = "<p>" + "A summary of the post that stops before the end of it. " * 6 + "</p>"
    head = (
        '<meta name="generator" content="Hugo 0.125.0"><title>Log</title>'
        '<link rel="alternate" type="application/rss+xml" href="/index.xml">'
        '<link rel="alternate" type="application/json" href="/index.json">'
    )
    sitemap_urls = "".join(
        f"<url><loc>{HOME.rstrip('/')}{p}</loc><lastmod>{d}</lastmod></url>"
        for p, d in [
            ("/posts/2024-03-01-one/", "2024-03-01T00:00:00+00:00"),
            ("/posts/2024-02-01-two/", "2024-02-01T00:00:00+00:00"),
            ("/posts/2023-01-01-old/", "2023-01-01T00:00:00+00:00"),
            ("/posts/", "2024-03-01T00:00:00+00:00"),
            ("/tags/ml/", "2024-03-01T00:00:00+00:00"),
            ("/faq/", "2024-03-01T00:00:00+00:00"),
        ]
    )
    return {
        "/": _html(
            '<main><article class="post-entry"><h2>One</h2><a class="entry-link" href="/posts/2024-03-01-one/">'
            "</a></article></main>",
            head,
        ),
        "/index.xml": _rss(
            [
                ("One", "/posts/2024-03-01-one/", "Fri, 01 Mar 2024 00:00:00 +0000", summary),
                ("Two", "/posts/2024-02-01-two/", "Thu, 01 Feb 2024 00:00:00 +0000", summary),
                ("FAQ", "/faq/", "Mon, 01 Jan 0001 00:00:00 +0000", summary),
            ]
        ),
        "/sitemap.xml": (
            "application/xml",
            f'<?xml version="1.0"?><sitemapindex><sitemap><loc>{HOME}en/sitemap.xml</loc></sitemap></sitemapindex>',
        ),
        "/en/sitemap.xml": ("application/xml", f'<?xml version="1.0"?><urlset>{sitemap_urls}</urlset>'),
        "/posts/2024-03-01-one/": _papermod_post("One", "2024-03-01T00:00:00+00:00", 30),
        "/posts/2024-02-01-two/": _papermod_post("Two", "2024-02-01T00:00:00+00:00", 30),
        "/posts/2023-01-01-old/": _papermod_post("Old", "2023-01-01T00:00:00+00:00", 30),
        "/faq/": _html(
            '<article class="post-single"><h1 class="post-title">FAQ</h1><div class="post-content">'
            "<p>Questions and answers about this blog, long enough to read.</p></div></article>"
        ),
    }


def stack_site() -> dict[str, tuple[str, str]]:
    """A feed whose descriptions are the whole posts (Stack's default): one page read to confirm, no more."""

    def body(name: str) -> str:
        return f"<h2>{name}</h2>" + "".join(f"<p>{name} paragraph {i} with $x_{i}$ in it.</p>" for i in range(40))

    head = (
        '<meta name="generator" content="Hugo 0.140.0"><title>Home</title>'
        "<link rel=alternate type=application/rss+xml href=/index.xml>"
    )
    pages = {
        "/": _html("<section class=article-list></section>", head),
        "/index.xml": _rss(
            [
                (n.title(), f"/p/{n}/", f"Mon, 0{i + 1} Jan 2024 00:00:00 +0000", body(n))
                for i, n in enumerate(["alpha", "beta", "gamma"])
            ]
        ),
    }
    for n in ["alpha", "beta", "gamma"]:
        pages[f"/p/{n}/"] = _html(
            f"<article class=main-article><h2 class=article-title>{n.title()}</h2>"
            f"<section class=article-content>{body(n)}</section></article>",
            '<meta property="article:published_time" content="2024-01-01T00:00:00+00:00">',
        )
    return pages


async def _run(
    fake: FakeSite,
    *,
    known: dict[str, KnownPost] | None = None,
    validators=None,
    max_pages: int | None = None,
    kind: str = "auto",
    timezone: str | None = None,
    executor: Executor | None = None,
) -> tuple[SourceOutput, SourceContext]:
    async with HttpClient(SETTINGS, transport=httpx.MockTransport(fake)) as http:
        config = SourceConfig(name="blog", url=HOME, kind=kind, max_pages=max_pages, timezone=timezone)  # type: ignore[arg-type]
        ctx = SourceContext(
            source=config,
            settings=SETTINGS,
            http=http,
            now=NOW,
            known=known or {},
            validators=validators or {},
            executor=executor,
        )
        fetcher = {"auto": auto.fetch, "hexo": site.fetch_hexo, "hugo": site.fetch_hugo, "html": site.fetch_html}[kind]
        return await fetcher(ctx), ctx


def _known(output: SourceOutput) -> dict[str, KnownPost]:
    posts, _ = normalize_posts(output.posts, "blog", NOW)
    return {url_key(p.canonical_url): KnownPost(p.url, p.canonical_url, p.updated, p.content_hash, True) for p in posts}


def test_hexo_site_with_only_list_pages() -> None:
    fake = FakeSite(butterfly_site())
    output, _ = asyncio.run(_run(fake))
    assert output.detected_kind == "hexo"
    assert sorted(p.title or "" for p in output.posts) == ["Alpha", "Beta", "Gamma"]
    alpha = next(p for p in output.posts if p.title == "Alpha")
    assert alpha.published == datetime(2025, 1, 3, tzinfo=UTC)
    posts, _ = normalize_posts(output.posts, "blog", NOW)
    text = next(p.content_text for p in posts if p.title == "Alpha")
    assert "$x_0$" in text and "x0x_0" not in text
    assert "/tags/x/" not in fake.paths


def test_second_run_fetches_no_post_page_again() -> None:
    fake = FakeSite(butterfly_site())
    first, ctx = asyncio.run(_run(fake))
    fake.paths.clear()
    second, _ = asyncio.run(_run(fake, known=_known(first), validators=dict(ctx.new_validators)))
    assert not [p for p in fake.paths if p.startswith("/post/")]
    assert second.posts == []
    assert sorted(second.unchanged_urls) == [HOME + "post/a1.html", HOME + "post/b2.html"]


def test_new_post_is_the_only_page_fetched_on_the_next_run() -> None:
    pages = butterfly_site()
    first, ctx = asyncio.run(_run(FakeSite(pages)))
    home_type, home = pages["/"]
    pages["/"] = (
        home_type,
        home.replace(
            '<div id="recent-posts">',
            '<div id="recent-posts">' + _butterfly_item("/post/d4.html", "Delta", "2025-01-04T00:00:00Z"),
        ),
    )
    pages["/post/d4.html"] = _butterfly_post("Delta", "2025-01-04T00:00:00.000Z", "<p>Delta.</p>")
    fake = FakeSite(pages)
    second, _ = asyncio.run(_run(fake, known=_known(first), validators=dict(ctx.new_validators)))
    assert [p.title for p in second.posts] == ["Delta"]
    assert [p for p in fake.paths if p.startswith("/post/")] == ["/post/d4.html"]


def test_hugo_summary_feed_is_completed_by_the_sitemap() -> None:
    fake = FakeSite(papermod_site())
    output, _ = asyncio.run(_run(fake))
    assert output.detected_kind == "hugo"
    by_title = {p.title: p for p in output.posts}
    assert sorted(by_title) == ["Old", "One", "Two"]  # FAQ is undated; tags and sections are not posts
    posts, _ = normalize_posts(output.posts, "blog", NOW)
    assert all(len(p.content_text) > 1500 for p in posts)  # the page, not the feed's summary
    assert by_title["Old"].published == datetime(2023, 1, 1, tzinfo=UTC)
    assert "/tags/ml/" not in fake.paths and "/index.json" not in fake.paths


def test_full_content_feed_needs_one_page_to_trust_it() -> None:
    fake = FakeSite(stack_site())
    output, _ = asyncio.run(_run(fake))
    assert sorted(p.title or "" for p in output.posts) == ["Alpha", "Beta", "Gamma"]
    assert len([p for p in fake.paths if p.startswith("/p/")]) == 1
    posts, _ = normalize_posts(output.posts, "blog", NOW)
    assert all("$x_3$" in p.content_text for p in posts)


def test_page_budget_keeps_what_was_found_and_warns() -> None:
    fake = FakeSite(papermod_site())
    output, ctx = asyncio.run(_run(fake, max_pages=5))
    assert ctx.requests <= 5
    assert any("budget" in w for w in ctx.warnings)
    assert {p.title for p in output.posts} <= {"One", "Two", "Old"}


def test_forced_kind_html_uses_the_generic_path() -> None:
    fake = FakeSite(butterfly_site())
    output, _ = asyncio.run(_run(fake, kind="html"))
    assert output.detected_kind == "html"
    assert sorted(p.title or "" for p in output.posts) == ["Alpha", "Beta", "Gamma"]


def test_a_site_with_nothing_is_a_parse_error() -> None:
    fake = FakeSite({"/": _html("<p>under construction</p>")})
    with pytest.raises(ParseError, match="no posts found"):
        asyncio.run(_run(fake))


def test_picklable_results_for_the_worker_pool() -> None:
    import pickle

    from aggregator.sources.site.article import extract_article
    from aggregator.sources.site.home import analyze_home

    html = (DATA / "lists" / "next.html").read_text(encoding="utf-8")
    info = analyze_home(html, HOME, None)
    assert pickle.loads(pickle.dumps(info)).page.items == info.page.items
    article = extract_article((DATA / "posts" / "next.html").read_text(encoding="utf-8"), HOME, "next", ())
    assert pickle.loads(pickle.dumps(article)) == replace(article)


@pytest.mark.parametrize(
    ("timezone", "in_pool", "expected"),
    [
        (None, False, datetime(2024, 3, 9, 14, 20, tzinfo=UTC)),  # no zone known: read as UTC
        ("Asia/Shanghai", False, datetime(2024, 3, 9, 6, 20, tzinfo=UTC)),
        ("Asia/Shanghai", True, datetime(2024, 3, 9, 6, 20, tzinfo=UTC)),  # the zone travels to the workers
    ],
)
def test_fluid_local_times_are_read_in_the_sources_timezone(
    timezone: str | None, in_pool: bool, expected: datetime
) -> None:
    # Fluid prints `time[datetime]="2024-03-09 14:20"`: the author's local time, with no zone
    page = (DATA / "lists" / "fluid.html").read_text(encoding="utf-8")
    post = (DATA / "posts" / "fluid.html").read_text(encoding="utf-8")
    kind = "text/html; charset=utf-8"
    fake = FakeSite({"/": (kind, page), "/2024/03/09/flow-matching/": (kind, post), "/2024/02/01/vae/": (kind, post)})
    with ProcessPoolExecutor(1) if in_pool else contextlib.nullcontext() as pool:
        output, _ = asyncio.run(_run(fake, timezone=timezone, executor=pool))
    flow = next(p for p in output.posts if p.url and p.url.endswith("/flow-matching/"))
    assert flow.published == expected
