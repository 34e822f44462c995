"""HackMD Markdown rendering: each HackMD syntax, TeX kept as TeX, and text/excerpts free of Markdown."""

from __future__ import annotations

from datetime import UTC, datetime

import hypothesis
import pytest
from hypothesis import strategies as st

from aggregator.dom import html_to_text
from aggregator.markdown import (
    embed_url,
    parse_front_matter,
    render_excerpt,
    render_markdown,
    split_tags,
    trim_cut_markdown,
)
from aggregator.models import RawPost
from aggregator.normalize import normalize_post
from aggregator.sanitize import sanitize_html

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def text_of(markdown: str) -> str:
    """What a reader sees: rendered, sanitised as the pipeline does, then extracted as text."""
    return html_to_text(sanitize_html(render_markdown(markdown).html))


def post_of(markdown: str, *, summary: bool = False) -> object:
    html = render_markdown(markdown).html
    raw = RawPost(
        url="https://hackmd.io/@u/n",
        title="T",
        content_html=None if summary else html,
        summary_html=html if summary else None,
    )
    return normalize_post(raw, "test", NOW)


# --- math -------------------------------------------------------------------------------------


def test_inline_math_is_tex_in_a_math_span() -> None:
    html = render_markdown("We predict $x_0$ here.").html
    assert '<span class="math inline">$x_0$</span>' in html
    assert "<em>" not in html  # the underscore did not become emphasis


def test_display_math_block_is_tex_in_a_display_span() -> None:
    html = render_markdown("Sum:\n\n$$\n\\sum_i x_i\n$$\n\nafter").html
    assert '<span class="math display">$$\\sum_i x_i$$</span>' in html


def test_double_dollar_inside_a_paragraph_is_display_math() -> None:
    html = render_markdown("a $$\\sum_i$$ b").html
    assert '<span class="math display">$$\\sum_i$$</span>' in html


def test_tex_is_html_escaped_and_comes_back_intact_in_text() -> None:
    html = render_markdown("order $a<b$ and $a & b$").html
    assert '<span class="math inline">$a&lt;b$</span>' in html
    text = text_of("order $a<b$ and $\\{x\\} > 0$")
    assert "$a<b$" in text
    assert "$\\{x\\} > 0$" in text


@pytest.mark.parametrize(
    ("markdown", "tex"),
    [
        ("$x_0$", "$x_0$"),
        ("$$\\sum_i$$", "$$\\sum_i$$"),
        ("$a<b$", "$a<b$"),
        ("$e^{i\\pi} + 1 = 0$", "$e^{i\\pi} + 1 = 0$"),
        ("$P(s'|s,a)$", "$P(s'|s,a)$"),
        ("$$\nV^\\pi(s) = \\sum_a \\pi(a|s)\n$$", "$$V^\\pi(s) = \\sum_a \\pi(a|s)$$"),
        ("```math\nx^2\n```", "$$x^2$$"),
    ],
)
def test_tex_survives_the_whole_pipeline(markdown: str, tex: str) -> None:
    post = post_of(f"Before {markdown} after" if "\n" not in markdown else markdown)
    assert tex in post.content_text  # type: ignore[attr-defined]


def test_math_never_mangled_into_plain_letters() -> None:
    text = text_of("Let $x_0$ be the start.")
    assert "x0" not in text.replace("$x_0$", "")


def test_currency_is_not_math() -> None:
    html = render_markdown("It costs $5 and $10 today.").html
    assert "math" not in html


def test_math_inside_code_stays_code() -> None:
    html = render_markdown("`$x_0$` and\n\n```\n$y$\n```").html
    assert "math" not in html
    assert "<code>$x_0$</code>" in html


# --- HackMD syntax ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["info", "warning", "success", "danger"])
def test_alert_containers(kind: str) -> None:
    html = render_markdown(f":::{kind}\n**Note** this\n:::").html
    assert f'<div class="alert alert-{kind}">' in html
    assert "<strong>Note</strong>" in html
    assert ":::" not in html


def test_spoiler_becomes_details_with_summary() -> None:
    html = render_markdown(":::spoiler Click to show\nHidden $x$ text\n:::").html
    assert "<details><summary>Click to show</summary>" in html
    assert "</details>" in html
    assert '<span class="math inline">$x$</span>' in html


def test_spoiler_without_title_and_open_state() -> None:
    assert "<summary>Spoiler</summary>" in render_markdown(":::spoiler\nx\n:::").html
    html = render_markdown(':::spoiler {state="open"} More\nx\n:::').html
    assert "<details open><summary>More</summary>" in html


def test_toc_is_removed() -> None:
    html = render_markdown("# A\n\n[TOC]\n\n## B\n\ntext").html
    assert "TOC" not in html
    assert "<h2>B</h2>" in html


def test_mark() -> None:
    html = render_markdown("this is ==very **important**== stuff").html
    assert "<mark>very <strong>important</strong></mark>" in html
    assert "==" not in html


def test_mark_needs_tight_delimiters() -> None:
    assert "<mark>" not in render_markdown("a == b == c").html


def test_youtube_embed_is_a_link() -> None:
    html = render_markdown("{%youtube FgzM3zpZ55o %}").html
    assert '<a href="https://www.youtube.com/watch?v=FgzM3zpZ55o">' in html
    assert "{%" not in html


def test_hackmd_embed_links_to_the_origin() -> None:
    html = render_markdown("see {%hackmd @team/intro %} here", "http://127.0.0.1:9000").html
    assert '<a href="http://127.0.0.1:9000/@team/intro">' in html


def test_hackmd_theme_include_is_dropped() -> None:
    html = render_markdown("{%hackmd theme-dark %}\n\nbody").html
    assert "theme-dark" not in html
    assert "body" in html


def test_embed_url_kinds() -> None:
    assert embed_url("vimeo", "123") == "https://vimeo.com/123"
    assert embed_url("hackmd", "https://hackmd.io/abc") == "https://hackmd.io/abc"
    assert embed_url("unknown", "x") is None


@pytest.mark.parametrize(
    ("suffix", "width", "height"),
    [("=450x", "450", None), ("=x200", None, "200"), ("=450x200", "450", "200")],
)
def test_image_size_suffix(suffix: str, width: str | None, height: str | None) -> None:
    html = render_markdown(f"![alt text](https://example.org/a.png {suffix})").html
    assert 'src="https://example.org/a.png"' in html
    assert ("width" in html) == (width is not None)
    assert ("height" in html) == (height is not None)
    if width:
        assert f'width="{width}"' in html
    if height:
        assert f'height="{height}"' in html
    assert "agg-imsize" not in html and "=" + (width or "") not in html.split("src=")[0]


def test_image_size_suffix_with_title() -> None:
    html = render_markdown('![a](https://example.org/a.png =100x50 "A title")').html
    assert 'title="A title"' in html
    assert 'width="100"' in html


def test_image_size_text_inside_code_is_left_alone() -> None:
    html = render_markdown("`![a](u.png =450x)`").html
    assert "<code>![a](u.png =450x)</code>" in html


def test_task_lists_keep_their_state_as_text() -> None:
    text = text_of("- [x] done\n- [ ] todo")
    assert "☑ done" in text
    assert "☐ todo" in text


def test_footnotes_and_tables() -> None:
    html = render_markdown("Claim[^1].\n\n[^1]: Source.\n\n| a | b |\n|:-:|--|\n| 1 | 2 |").html
    assert "footnote" in html
    assert "<table>" in html
    assert 'align="center"' in html  # kept through sanitising, unlike style=


def test_single_newlines_are_line_breaks() -> None:
    assert "<br" in render_markdown("line one\nline two").html


# --- front matter, headings, tags ---------------------------------------------------------------


def test_front_matter_title_and_tags() -> None:
    rendered = render_markdown("---\ntitle: Tmux notes\ntags: Tools, Linux\n---\n\n# Other heading\n\nbody")
    assert rendered.front_matter["title"] == "Tmux notes"
    assert rendered.title == "Tmux notes"
    assert rendered.tags == ("Tools", "Linux")
    assert "title:" not in rendered.html


def test_first_heading_is_the_title_without_front_matter() -> None:
    rendered = render_markdown("intro\n\n## The `real` title with $x$\n\ntext")
    assert rendered.first_heading == "The real title with $x$"
    assert rendered.title == "The real title with $x$"


def test_parse_front_matter_forms() -> None:
    front = parse_front_matter("title: 'Quoted: yes'\ntags:\n  - a\n  - \"b c\"\nlang: zh-tw # comment\nlist: [x, 'y']")
    assert front == {"title": "Quoted: yes", "tags": ["a", "b c"], "lang": "zh-tw", "list": ["x", "y"]}


def test_split_tags() -> None:
    assert split_tags("a, b ,, c") == ["a", "b", "c"]
    assert split_tags(["x", 3, None, " "]) == ["x", "3"]
    assert split_tags(None) == []


def test_hackmd_tags_line_is_read_and_removed() -> None:
    rendered = render_markdown("# Title\n\n###### tags: `Paper Notes` `GNN`\n\nbody")
    assert rendered.tags == ("Paper Notes", "GNN")
    assert "tags:" not in rendered.html


def test_title_heading_dropped_when_it_repeats_the_title() -> None:
    md = "# DOT: A Trainer\n\nBody text."
    assert "<h1>" not in render_markdown(md, drop_title="[論文筆記] DOT: A Trainer").html
    assert "<h1>" in render_markdown(md, drop_title="Something else entirely").html
    assert "<h1>" in render_markdown("# Intro\n\nx", drop_title="An Intro to X").html


def test_title_heading_with_math_is_kept() -> None:
    assert "math" in render_markdown("# About $x_0$\n\nbody", drop_title="About $x_0$").html


# --- excerpts ---------------------------------------------------------------------------------


def test_summary_has_no_markdown_left_over() -> None:
    markdown = (
        "# Heading\n\nSome **bold** and _em_ text with $x_0$.\n\n"
        "![image](https://hackmd.io/_uploads/abc.png =450x)\n\n[TOC]\n\n- item one\n"
    )
    post = post_of(markdown, summary=True)
    summary = post.summary  # type: ignore[attr-defined]
    for leftover in ("**", "![", "](", "# ", "[TOC]", "=450x", "_em_"):
        assert leftover not in summary
    assert "$x_0$" in summary
    assert "bold" in summary


def test_trim_cut_markdown_drops_half_constructs() -> None:
    assert trim_cut_markdown("para\n\n![image](https://hack") == "para\n"
    assert trim_cut_markdown("para\n\n$$\n\\sum_i") == "para\n"
    assert trim_cut_markdown("plain words cut mid") == "plain words cut mid\n"
    assert trim_cut_markdown("some **bold** words, cut") == "some **bold** words, cut\n"
    assert trim_cut_markdown("a\n```python\nx = 1\n").endswith("```\n")
    assert trim_cut_markdown("t\n\n| a | b |\n|--|--|\n| 1 | 2 |\n") == "t\n\n| a | b |\n|--|--|\n| 1 | 2 |\n"


def test_render_excerpt_of_a_cut_overview_content() -> None:
    cut = "# Title\n\nText with $x_0$.\n\n|  | P | N |\n|--|:-:|:--"
    text = html_to_text(sanitize_html(render_excerpt(cut, drop_title="Title").html))
    assert text == "Text with $x_0$."


# --- robustness -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "markdown",
    [
        "",
        "\x00\x01\x02",
        "[" * 5000,
        ">" * 3000 + " deep",
        "$" * 1000,
        ":::spoiler\n" * 200,
        "![a](<u v> =1x",
        "{%youtube %}",
        "==" * 500,
        "---\n: bad\n- - -\n---\n",
        "\ud800 lone surrogate",
    ],
)
def test_never_raises(markdown: str) -> None:
    rendered = render_markdown(markdown)
    assert isinstance(rendered.html, str)


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(st.lists(st.sampled_from([*"$=:{}%[]()!<>`*_#-|x \n\\", "youtube", "hackmd", "spoiler", "TOC"])))
def test_arbitrary_syntax_soup_never_raises(pieces: list[str]) -> None:
    assert isinstance(render_markdown("".join(pieces)).html, str)
