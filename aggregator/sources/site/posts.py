"""From candidates to RawPosts: skip what is stored and unchanged, fetch what is missing, merge."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from aggregator.errors import FetchError
from aggregator.models import RawPost, SourceOutput
from aggregator.sources.base import BudgetExceeded, SourceContext
from aggregator.sources.site.article import Article, extract_article
from aggregator.sources.site.pool import Candidate, is_unchanged

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_BATCH = 16
_WHOLE_POST_SHARE = 0.85  # a feed body this close to the page's article text is the whole post


@dataclass(frozen=True, slots=True)
class SiteHints:
    """What page extraction needs to know about the site."""

    theme: str | None
    site_names: tuple[str, ...]


def needs_page(candidate: Candidate) -> bool:
    """A feed that gave the full body, a title and a date is enough; everything else needs the page."""
    return candidate.conflicting or not (candidate.content_html and candidate.title and candidate.published)


async def calibrate_feed_bodies(
    ctx: SourceContext, candidates: list[Candidate], hints: SiteHints
) -> dict[str, Article]:
    """Fetch one post page to learn whether the feed's descriptions are whole posts, and trust them if so.

    Hugo's RSS prints a summary by default, but Notepadium and Stack print the whole post: comparing
    the longest description with its page tells which, for one request. Returns the page it read.
    """
    maybe = [c for c in candidates if c.feed_body_html and not c.content_html]
    pending = [c for c in maybe if not is_unchanged(c, ctx.known_post(c.url))]
    if not pending:
        return {}
    sample = max(pending, key=lambda c: len(c.feed_body_html or ""))
    try:
        article = await _fetch_article(ctx, sample, hints)
    except FetchError:  # BudgetExceeded included: the posts are then kept from the lists
        return {}
    if article.text_chars and sample.feed_body_chars >= _WHOLE_POST_SHARE * article.text_chars:
        for candidate in maybe:
            candidate.content_html, candidate.summary_html = candidate.feed_body_html, None
    return {sample.url: article}


async def build_posts(
    ctx: SourceContext,
    candidates: list[Candidate],
    hints: SiteHints,
    output: SourceOutput,
    prefetched: dict[str, Article] | None = None,
) -> None:
    """Append a RawPost per post candidate to `output`; unchanged stored ones go to `unchanged_urls`."""
    to_fetch: list[Candidate] = []
    for candidate in candidates:
        if prefetched and candidate.url in prefetched:
            post = _merge(candidate, prefetched[candidate.url])
            output.posts.extend([post] if post is not None else [])
        elif not needs_page(candidate):
            output.posts.append(_from_channels(candidate))
        elif is_unchanged(candidate, ctx.known_post(candidate.url)):
            output.unchanged_urls.append(candidate.url)
        else:
            to_fetch.append(candidate)
    budget_hit = False
    for start in range(0, len(to_fetch), _BATCH):
        batch = to_fetch[start : start + _BATCH]
        if budget_hit:
            output.posts.extend(p for p in map(_fallback, batch) if p is not None)
            continue
        results = await asyncio.gather(*(_fetch_article(ctx, c, hints) for c in batch), return_exceptions=True)
        for candidate, result in zip(batch, results, strict=True):
            if isinstance(result, BudgetExceeded):
                budget_hit = True
            elif isinstance(result, FetchError):
                ctx.warn(f"post page failed, kept what the lists said: {result}")
            elif isinstance(result, BaseException):
                raise result
            post = _merge(candidate, result) if isinstance(result, Article) else _fallback(candidate)
            if post is not None:
                output.posts.append(post)
    if budget_hit:
        ctx.warn(f"page budget of {ctx.page_budget} requests spent: some post pages were not fetched this run")


async def _fetch_article(ctx: SourceContext, candidate: Candidate, hints: SiteHints) -> Article:
    response = await ctx.get(candidate.url, accept=PAGE_ACCEPT)
    return await ctx.run_cpu(extract_article, response.text(), response.url, hints.theme, hints.site_names)


def _from_channels(candidate: Candidate) -> RawPost:
    return RawPost(
        url=candidate.url,
        title=candidate.title or candidate.other_title,
        guid=candidate.guid,
        author=candidate.author,
        published=candidate.published,
        updated=candidate.updated or candidate.lastmod,
        content_html=candidate.content_html,
        summary_html=candidate.summary_html,
        tags=candidate.tags,
    )


def _fallback(candidate: Candidate) -> RawPost | None:
    """No page: what the channels said, marked incomplete unless a list printed the whole post."""
    if not candidate.vouched or not candidate.published or not (candidate.title or candidate.other_title):
        return None
    full = candidate.content_html or candidate.excerpt_full_html
    return replace(_from_channels(candidate), content_html=full, complete=bool(full))


def _merge(candidate: Candidate, article: Article) -> RawPost | None:
    """The page's facts first for dates and body; the feed's title first (it is the site's own)."""
    if article.kind in ("alias", "list") or (article.kind == "page" and not candidate.vouched):
        return None
    published = article.published or candidate.published
    if published is None:
        return None  # an undated page (about, Hugo's 0001-01-01 pages) is not a post
    body = article.content_html if article.text_chars else None
    body = body or candidate.content_html or candidate.excerpt_full_html or article.content_html
    title = candidate.title if candidate.title and not candidate.conflicting else None
    return RawPost(
        url=article.url if article.url else candidate.url,
        title=title or article.title or candidate.other_title,
        guid=candidate.guid,
        author=article.author or candidate.author,
        published=published,
        updated=article.updated or candidate.updated or candidate.lastmod,
        content_html=body,
        summary_html=candidate.summary_html,
        tags=article.tags or candidate.tags,
        base_url=article.url,
        canonical_url=article.canonical_url,
    )
