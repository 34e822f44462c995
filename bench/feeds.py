"""Build N distinct feed documents for the benchmark.

From the real feeds of the ../shared/corpus sites when they are there (each copy takes a window of 10-20
entries and has every origin rewritten to `<origin>/f<i>`, so links and ids are unique per feed), else
generated feeds of 10-20 full HTML posts with CJK text and TeX math. Pure stdlib.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Template:
    """One real feed split into the text before its first entry, its entries, and the text after."""

    name: str
    head: str
    entries: tuple[str, ...]
    tail: str
    origins: tuple[str, ...]


# (corpus folder, feed path inside it); maosong's post/index.xml is 2.7 MB of full-HTML items
CORPUS_FEEDS: tuple[tuple[str, str], ...] = (
    ("hexo-next-zhouyifan", "atom.xml"),
    ("hugo-notepadium-cse-study", "index.xml"),
    ("hugo-papermod-lilianweng", "posts/index.xml"),
    ("hugo-stack-maosong", "post/index.xml"),
)
_ENTRY = re.compile(r"<(entry|item)(?:\s[^>]*)?>.*?</\1>", re.DOTALL)


def split_feed(name: str, text: str, origins: tuple[str, ...]) -> Template:
    matches = list(_ENTRY.finditer(text))
    if not matches:
        raise ValueError(f"{name}: no <entry> or <item> found")
    return Template(
        name=name,
        head=text[: matches[0].start()],
        entries=tuple(m.group(0) for m in matches),
        tail=text[matches[-1].end() :],
        origins=origins,
    )


def load_corpus_templates(corpus: Path) -> list[Template]:
    templates: list[Template] = []
    for folder, feed_path in CORPUS_FEEDS:
        site = corpus / folder
        meta = json.loads((site / "site.json").read_text(encoding="utf-8"))
        # longest first, so that https://a.b/ is not half-rewritten by a shorter origin that prefixes it
        origins = tuple(sorted((o.rstrip("/") for o in meta.get("origin_bases", [])), key=len, reverse=True))
        text = (site / feed_path).read_text(encoding="utf-8")
        templates.append(split_feed(f"{folder}/{feed_path}", text, origins))
    return templates


def corpus_feed(template: Template, index: int) -> str:
    """Copy `index` of a real feed: a window of 10-20 entries, every origin moved under /f<index>."""
    total = len(template.entries)
    count = min(total, 10 + (index * 7) % 11)
    start = (index * 3) % (total - count + 1)
    body = "".join(template.entries[start : start + count])
    text = template.head + body + template.tail
    for origin in template.origins:
        text = text.replace(origin, f"{origin}/f{index}")
    return text


# -- generated feeds (when ../shared is absent) ---------------------------------------------------------

_ZH = (
    "在本节中我们推导反向传播算法的矩阵形式，并讨论数值稳定性。",
    "注意力机制的核心思想是根据查询与键的相似度对值进行加权求和。",
    "扩散模型通过逐步加噪与去噪来学习数据分布，训练目标可以写成一个简单的均方误差。",
    "强化学习中的策略梯度方法直接对期望回报关于策略参数求导。",
    "我们在实验中发现，学习率预热对于大批量训练至关重要。",
    "变分自编码器最大化证据下界，同时约束后验分布接近先验分布。",
)
_KO = ("트랜스포머 구조는 인코더와 디코더로 이루어져 있다.", "확률적 경사 하강법의 수렴 속도를 분석한다.")
_JA = ("本稿では拡散モデルのサンプリング高速化について述べる。",)
_EN = (
    "We derive the evidence lower bound and show that it is tight when the posterior matches the prior.",
    "The scaling law suggests that loss decreases as a power law in compute, data and parameters.",
    "In practice, gradient clipping keeps the updates bounded when the loss landscape is sharp.",
)
_INLINE_MATH = (
    r"$x_0$",
    r"$\alpha_t = \prod_{s=1}^t (1-\beta_s)$",
    r"$p_\theta(x_{t-1} \mid x_t)$",
    r"$\mathrm{softmax}(QK^\top/\sqrt{d_k})V$",
    r"$\nabla_\theta J(\theta)$",
    r"$K<n$",
)
_DISPLAY_MATH = (
    r"$$\mathcal{L} = \mathbb{E}_{t,x_0,\epsilon}\left[\|\epsilon - \epsilon_\theta(x_t, t)\|^2\right]$$",
    r"$$\nabla_\theta J(\theta) = \mathbb{E}_{\pi_\theta}[\sum_t \nabla_\theta \log \pi_\theta(a_t|s_t) G_t]$$",
    r"\[ \log p(x) \ge \mathbb{E}_{q(z|x)}[\log p(x|z)] - D_{KL}(q(z|x) \| p(z)) \]",
)
_TAGS = ("deep-learning", "diffusion", "rl", "llm", "transformer", "math", "optimization", "论文阅读", "笔记")


def _paragraph(rng: random.Random) -> str:
    pieces: list[str] = []
    for _ in range(rng.randint(2, 5)):
        language = rng.random()
        pool = _ZH if language < 0.6 else _EN if language < 0.85 else _KO if language < 0.95 else _JA
        pieces.append(escape(rng.choice(pool)))
        if rng.random() < 0.4:
            pieces.append(escape(rng.choice(_INLINE_MATH)))
    return "<p>" + " ".join(pieces) + "</p>\n"


def generated_post_html(rng: random.Random, size: int) -> str:
    """Full post HTML of about `size` characters: headings, paragraphs, math, code, a list, an image."""
    parts: list[str] = []
    length = 0
    section = 0
    while length < size:
        roll = rng.random()
        if roll < 0.1:
            section += 1
            part = f'<h2 id="s{section}">第{section}节 Section {section}</h2>\n'
        elif roll < 0.2:
            part = f"<p>{escape(rng.choice(_DISPLAY_MATH))}</p>\n"
        elif roll < 0.27:
            part = '<pre><code class="language-python">loss = F.mse_loss(eps_pred, eps)\nloss.backward()</code></pre>\n'
        elif roll < 0.32:
            part = f'<p><img src="/images/fig{rng.randint(1, 99)}.png" alt="图 {section}"></p>\n'
        elif roll < 0.37:
            part = "<ul><li>" + "</li><li>".join(escape(rng.choice(_ZH)) for _ in range(3)) + "</li></ul>\n"
        else:
            part = _paragraph(rng)
        parts.append(part)
        length += len(part)
    return "".join(parts)


def generated_feed(index: int, now: datetime) -> str:
    """A generated feed (Atom for even `index`, RSS 2.0 for odd) with 10-20 full posts."""
    rng = random.Random(index)
    origin = f"https://blog{index}.example.org"
    count = 10 + (index * 7) % 11
    posts: list[tuple[str, str, datetime, str, tuple[str, ...]]] = []
    when = now - timedelta(hours=rng.randint(1, 72))
    for number in range(count):
        title = f"{rng.choice(_ZH)[:12]} ({index}-{number}) {rng.choice(_EN)[:30]}"
        url = f"{origin}/{when:%Y/%m/%d}/post-{index}-{number}/"
        html = generated_post_html(rng, rng.randint(1500, 5000))
        posts.append((title, url, when, html, tuple(rng.sample(_TAGS, rng.randint(1, 3)))))
        when -= timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 23))
    if index % 2 == 0:
        entries = "".join(
            f'<entry><title>{escape(t)}</title><link href="{u}"/><id>{u}</id>'
            f"<published>{d:%Y-%m-%dT%H:%M:%SZ}</published><updated>{d:%Y-%m-%dT%H:%M:%SZ}</updated>"
            + "".join(f'<category term="{escape(tag)}"/>' for tag in tags)
            + f'<content type="html">{escape(h)}</content></entry>\n'
            for t, u, d, h, tags in posts
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f'<title>学习笔记 {index}</title><link href="{origin}/"/><id>{origin}/</id>'
            f"<updated>{now:%Y-%m-%dT%H:%M:%SZ}</updated><author><name>作者 {index}</name></author>\n"
            f"{entries}</feed>\n"
        )
    items = "".join(
        f"<item><title>{escape(t)}</title><link>{u}</link><guid>{u}</guid>"
        f"<pubDate>{d:%a, %d %b %Y %H:%M:%S +0000}</pubDate>"
        + "".join(f"<category>{escape(tag)}</category>" for tag in tags)
        + f"<description>{escape(h)}</description></item>\n"
        for t, u, d, h, tags in posts
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>ML Notes {index}</title><link>{origin}/</link><description>notes</description>\n"
        f"{items}</channel></rss>\n"
    )


def build_feeds(out_dir: Path, n: int, corpus: Path | None) -> dict[str, Any]:
    """Write feeds/<i>.xml for i in range(n); return a summary (origin of the feeds, sizes, entries)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    templates = load_corpus_templates(corpus) if corpus is not None else []
    now = datetime(2026, 7, 1, tzinfo=UTC)
    total_bytes = 0
    total_entries = 0
    for index in range(n):
        text = corpus_feed(templates[index % len(templates)], index) if templates else generated_feed(index, now)
        data = text.encode("utf-8")
        total_bytes += len(data)
        total_entries += len(_ENTRY.findall(text))
        (out_dir / f"{index}.xml").write_bytes(data)
    return {
        "feeds_from": "corpus: " + ", ".join(t.name for t in templates) if templates else "generated",
        "feeds": n,
        "entries": total_entries,
        "bytes": total_bytes,
    }
