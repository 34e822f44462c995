"""RawPost to Post: canonical URL, title key, UTC dates, sanitised absolute HTML, text and excerpt.

Pure functions with no I/O, so the pipeline can run them in the worker pool.
"""

from __future__ import annotations

from datetime import datetime

from aggregator.dates import clamp_future
from aggregator.dedup import FINGERPRINT_VERSION, fingerprint
from aggregator.dom import html_to_text, prepare_content
from aggregator.excerpt import make_excerpt, strip_read_more
from aggregator.lang import detect_language
from aggregator.models import Post, RawPost
from aggregator.papers import paper_keys
from aggregator.sanitize import sanitize_with_text
from aggregator.text import content_hash, title_key, xml_safe
from aggregator.urls import canonical_url, is_http_url


class SkippedPost(ValueError):
    """A raw post that cannot become a Post (no usable URL or title)."""


def normalize_post(raw: RawPost, source: str, now: datetime) -> Post:
    """One raw post made whole and safe; raises SkippedPost with a one-line reason."""
    if not raw.url or not is_http_url(raw.url):
        raise SkippedPost(f"entry {raw.title or raw.guid or '?'!r} has no http(s) link")
    url = canonical_url(raw.url)
    canonical = url
    if raw.canonical_url and is_http_url(raw.canonical_url):
        canonical = canonical_url(raw.canonical_url)
    base = raw.base_url or raw.url
    # before parsing: a lone surrogate cannot even be encoded for the parsers; after: a reference such as
    # &#12; decodes to a character XML forbids, and stored text must be writable into any feed as it is
    body_source = xml_safe(raw.content_html or raw.summary_html or "")
    content, text = sanitize_with_text(prepare_content(body_source), base)
    # parsing brings a forbidden character back only from a numeric reference ("&#12;"): no "&#", no scan
    safe = xml_safe(content) if "&#" in body_source else content
    if safe is not content:  # the text was read from what is now dropped
        content, text = safe, html_to_text(safe)
    if not raw.content_html and raw.summary_html:
        text = strip_read_more(text)
    title = " ".join(xml_safe(raw.title or "").split())
    if not title:
        raise SkippedPost(f"entry {raw.url} has no title")
    published, _ = clamp_future(raw.published, now)
    updated, _ = clamp_future(raw.updated, now)  # the flag is reported by normalize_posts
    tags = tuple(dict.fromkeys(filter(None, (_plain_tag(t) for t in raw.tags if t))))
    sketch = fingerprint(text) if text else None
    return Post(
        canonical_url=canonical,
        url=url,
        source=source,
        title=title,
        title_key=title_key(title),
        guid=xml_safe(raw.guid) if raw.guid else raw.guid,
        author=" ".join(xml_safe(raw.author).split()) if raw.author else None,
        published=published or updated,
        updated=updated,
        content_html=content,
        content_text=text,
        summary=make_excerpt(text),
        tags=tags,
        content_hash=content_hash(title, text, ",".join(tags)),
        lang=detect_language(text) or raw.lang_hint,  # the text, not <html lang>, which these blogs get wrong
        complete=raw.complete,
        papers=paper_keys(text, content),
        fingerprint=sketch.to_bytes() if sketch else None,
        fingerprint_size=sketch.size if sketch else 0,
        fingerprint_version=FINGERPRINT_VERSION if sketch else None,
    )


def _plain_tag(tag: str) -> str:
    # a tag is a word, not markup: "<svg onload=…>" in a category is an attack, and its text is empty
    tag = xml_safe(tag)
    return xml_safe(html_to_text(tag)) if ("<" in tag or "&" in tag) else " ".join(tag.split())


def normalize_posts(raws: list[RawPost], source: str, now: datetime) -> tuple[list[Post], list[str]]:
    """Normalise a batch; skipped entries come back as warnings instead of stopping the batch."""
    posts: list[Post] = []
    warnings: list[str] = []
    for raw in raws:
        try:
            posts.append(normalize_post(raw, source, now))
        except (SkippedPost, ValueError) as e:
            warnings.append(f"skipped: {e}")
            continue
        for label, value in (("published", raw.published), ("updated", raw.updated)):
            if clamp_future(value, now)[1]:
                warnings.append(
                    f"entry {raw.url}: {label} date {value:%Y-%m-%d %H:%M} UTC is in the future; "
                    f"stored as the fetch time"
                )
    return posts, warnings
