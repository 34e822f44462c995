"""Where each known Hexo and Hugo theme puts things: one table row per theme, no theme logic elsewhere.

Selectors come from the themes' own templates (see shared/reference/site-structures.md, sections 3 and 5).
Every field is a CSS selector list (comma-separated); an empty string means "this theme has none".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Theme:
    """How one theme marks its pages. `family` is the generator: "hexo" or "hugo"."""

    name: str
    family: str
    markers: str  # any match on the home page fingerprints the theme
    footer: str  # a regex over the raw HTML (footer links, config blobs) that also fingerprints it
    list_item: str  # one post in a list page
    item_link: str  # inside an item; "" when the item itself is the link
    item_title: str
    item_date: str  # a node with a datetime/title attribute or date text
    item_excerpt: str
    next_page: str
    content: str  # the article body on a post page
    title: str
    published: str
    updated: str
    tags: str


THEMES: tuple[Theme, ...] = (
    Theme(
        name="next",
        family="hexo",
        markers="script.next-config, .posts-expand .post-block, .post-block article[itemtype*=Article]",
        footer=r"theme-next|next-theme|hexo-theme-next|NexT\.(?:Mist|Muse|Pisces|Gemini)",
        list_item=".posts-expand article[itemtype*=Article], .posts-expand .post-block > article, article.post",
        item_link="a.post-title-link",
        item_title=".post-title",
        item_date="time[itemprop~=dateCreated], time[itemprop~=datePublished]",
        item_excerpt=".post-body",
        next_page="nav.pagination a.extend.next, a.extend.next",
        content=".post-body[itemprop=articleBody], article .post-body",
        title="h1.post-title, h2.post-title",
        published="time[itemprop~=datePublished], time[itemprop~=dateCreated]",
        updated="time[itemprop=dateModified]",
        tags=".post-tags a[rel=tag], .post-tags a",
    ),
    Theme(
        name="butterfly",
        family="hexo",
        markers="#recent-posts, script#config-diff, #article-container",
        footer=r"hexo-theme-butterfly|GLOBAL_CONFIG_SITE",
        list_item="#recent-posts .recent-post-item, .recent-post-items > .recent-post-item",
        item_link="a.article-title",
        item_title="a.article-title",
        item_date="time.post-meta-date-created, .post-meta-date time, time[datetime]",
        item_excerpt=".content",
        next_page="#pagination a.extend.next, a.extend.next",
        content="#article-container",
        title="#post-info h1.post-title, h1.post-title",
        published="time.post-meta-date-created, #post-meta time[datetime]",
        updated="time.post-meta-date-updated",
        tags=".post-meta__tag-list a.post-meta__tags, a.post-meta__tags",
    ),
    Theme(
        name="fluid",
        family="hexo",
        markers="script#fluid-configs, .index-card",
        footer=r"hexo-theme-fluid",
        list_item=".index-card, article.index-info",
        item_link=".index-header a, h2 a",
        item_title=".index-header, h2",
        item_date="time[datetime]",
        item_excerpt=".index-excerpt",
        next_page="#pagination a.extend.next, a.extend.next",
        content="article.post-content .markdown-body, .markdown-body",
        title="h1#seo-header, #subtitle, .post-title",
        published="time[datetime]",
        updated="",
        tags=".post-metas a[href*='/tags/']",
    ),
    Theme(
        name="icarus",
        family="hexo",
        markers="article.card-content.article, .card article.article[role=article]",
        footer=r"hexo-theme-icarus|ppoffice",
        list_item="article.card-content.article",
        item_link="p.title a, h1.title a, .title a",
        item_title=".title",
        item_date=".article-meta time",
        item_excerpt=".content",
        next_page=".pagination-next:not(.is-invisible) a",
        content="article.article .content",
        title="h1.title",
        published=".article-meta time",
        updated="",
        tags=".article-tags a[rel=tag], .article-tags a",
    ),
    Theme(
        name="keep",
        family="hexo",
        markers=".home-post-item, .keep-markdown-body",
        footer=r"hexo-theme-keep|XPoet",
        list_item="li.home-post-item, .home-post-item",
        item_link=".home-post-title a",
        item_title=".home-post-title",
        item_date=".home-post-meta-info",  # the text is the post date; data-updated is the edit date
        item_excerpt=".home-post-content",
        next_page=".paginator a.next, .paginator .paginator-btn a",
        content=".post-content.keep-markdown-body, .keep-markdown-body",
        title=".post-title",
        published=".post-create-date .datetime, .post-create-date",
        updated="",
        tags=".post-tags-box a, ul.post-tags-box li a",
    ),
    Theme(
        name="redefine",
        family="hexo",
        markers=".home-article-item, .home-article-list",
        footer=r"hexo-theme-redefine|EvanNotFound",
        list_item="li.home-article-item, .home-article-item",
        item_link=".home-article-title a",
        item_title=".home-article-title",
        item_date="[data-date], .home-article-date",
        item_excerpt=".home-article-content",
        next_page=".paginator a.extend.next, a.extend.next",
        content=".article-content, .markdown-body",
        title=".article-title, h1",
        published=".article-date, time[datetime]",
        updated="",
        tags=".article-tags a, .tag-item a",
    ),
    Theme(
        name="stellar",
        family="hexo",
        markers="a.post-card, .post-list .post-card-wrap",
        footer=r"hexo-theme-stellar|xaoxuu",
        list_item="a.post-card",
        item_link="",
        item_title="h2.post-title, .post-title",
        item_date="time[datetime], #post-meta time",
        item_excerpt=".excerpt",
        next_page=".paginator-wrap a.extend.next, a.extend.next",
        content="article.md-text.content, article.md-text, .md-text",
        title="h1.article-title, .article-title, h1",
        published="time[datetime]",
        updated="",
        tags=".tag-plugin a, .tag-chip",
    ),
    Theme(
        name="papermod",
        family="hugo",
        markers="article.post-entry, article.first-entry, article.post-single",
        footer=r"PaperMod|hugopapermod",
        list_item="article.post-entry, article.first-entry",
        item_link="a.entry-link",
        item_title=".entry-header h2, .entry-header h1, h2",
        item_date=".entry-footer span[title], .entry-footer",
        item_excerpt=".entry-content",
        next_page="nav.pagination a.next, .page-footer a.next",
        content="article.post-single .post-content, .post-content",
        title="h1.post-title",
        published=".post-meta span[title]",
        updated="",
        tags="ul.post-tags a",
    ),
    Theme(
        name="stack",
        family="hugo",
        markers="section.article-list, article.main-article",
        footer=r"hugo-theme-stack|CaiJimmy",
        list_item="section.article-list > article, .article-list article",
        item_link="h2.article-title a, .article-title a",
        item_title=".article-title",
        item_date="time.article-time--published, time[datetime]",
        item_excerpt=".article-subtitle",
        next_page="",  # Stack has no next button: the link after the current page is found generically
        content="section.article-content, .article-content",
        title="h2.article-title, h1.article-title, .article-title",
        published="time.article-time--published, time[datetime]",
        updated="",
        tags="section.article-tags a, .article-tags a",
    ),
    Theme(
        name="notepadium",
        family="hugo",
        markers="ul.note.list, article.article.markdown-body",
        footer=r"Notepadium|hugo-notepadium",
        list_item="ul.note.list > li.item, ul.note.list > li",
        item_link="a.note",
        item_title="p.note.title, .title",
        item_date="p.note.date",
        item_excerpt="p.note.content",
        next_page="",
        content="article.article.markdown-body, article.markdown-body",
        title="h1.article.title, h1.title",
        published="p.article.date",
        updated="span.lastmod",
        tags="section.article.labels a.tag, .labels a.tag",
    ),
    Theme(
        name="even",
        family="hugo",
        markers=".post-summary, meta[name=generator][content*='theme even']",
        footer=r"hugo-theme-even|olOwOlo",
        list_item="section#posts article.post, main article.post, article.post",
        item_link="h1.post-title a, .post-title a",
        item_title=".post-title",
        item_date=".post-time",
        item_excerpt=".post-content, .post-summary",
        next_page="nav.pagination a.next, .pagination a.next",
        content="article.post .post-content, .post-content",
        title="h1.post-title",
        published=".post-time, span.post-time",
        updated="",
        tags=".post-tags a",
    ),
    Theme(
        name="loveit",
        family="hugo",
        markers="article.single.summary, article.page.single",
        footer=r"dillonzq/LoveIt|HEIGE-PCloud/DoIt|LoveIt|DoIt",
        list_item="article.single.summary",
        item_link="h1.single-title a, .single-title a",
        item_title=".single-title",
        item_date=".post-publish time, time[datetime]",
        item_excerpt="div.content",
        next_page="",
        content="div.content#content, article.page.single div.content",
        title="h1.single-title",
        published=".post-meta time, time[datetime]",
        updated="",
        tags=".post-tags a",
    ),
    Theme(
        name="blowfish",
        family="hugo",
        markers="",
        footer=r"nunocoracao/blowfish|Blowfish",
        list_item="main article, #main article",
        item_link="header a, a",
        item_title="h2, h3",
        item_date="time[datetime]",
        item_excerpt="div.prose",
        next_page="a[rel=next]",
        content="article section.prose, section.prose, .prose",
        title="article header h1, h1",
        published="time[datetime]",
        updated="",
        tags="a[href*='/tags/'] span, a[href*='/tags/']",
    ),
    Theme(
        name="congo",
        family="hugo",
        markers="",
        footer=r"jpanther/congo|Congo",
        list_item="main article, article.mt-6",
        item_link="h3 a, h2 a, a",
        item_title="h3, h2",
        item_date="time[datetime]",
        item_excerpt="div.prose",
        next_page="a[rel=next]",
        content="article section.prose, section.prose, .prose",
        title="article header h1, h1",
        published="time[datetime]",
        updated="",
        tags="a[href*='/tags/'] span, a[href*='/tags/']",
    ),
    Theme(
        name="ananke",
        family="hugo",
        markers=".nested-copy-line-height, body.athelas",
        footer=r"gohugo-theme-ananke|gohugo-ananke",
        list_item="article.bb, section article, main article",
        item_link="h1 a, h2 a, a",
        item_title="h1, h2",
        item_date="time[datetime]",
        item_excerpt=".nested-links",
        next_page="li.page-item a.page-link[aria-label=Next], a[rel=next]",
        content="article div.nested-copy-line-height, .nested-copy-line-height",
        title="header h1.f1, article h1, h1",
        published="time[datetime]",
        updated="",
        tags=".tags a, a[href*='/tags/']",
    ),
)

THEMES_BY_NAME: dict[str, Theme] = {theme.name: theme for theme in THEMES}

# Next-page links any theme or generator may print, most explicit first (reference section 8, step 5).
GENERIC_NEXT = (
    "link[rel=next]",
    "a[rel~=next]",
    "a.extend.next",
    ".pagination-next:not(.is-invisible) a",
    "a.pagination-next:not(.is-invisible)",
    "li.page-item:not(.disabled) a.page-link[aria-label=Next]",
    "a.page-link[aria-label='Next page']",
    "nav.pagination a.next, .pagination a.next, a.next",
)

# Article containers seen across themes and generators, tried after the theme's own.
GENERIC_CONTENT = (
    "[itemprop=articleBody]",
    "article .post-content",
    "article .entry-content",
    ".post-content",
    ".entry-content",
    ".article-content",
    ".markdown-body",
    "article .content",
    ".post-body",
)


def theme_named(name: str | None) -> Theme | None:
    """The table row for a theme name, or None."""
    return THEMES_BY_NAME.get(name or "")
