"""aggregator.dedup: one story per post, across sources; never two different posts in one group."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import dedup
from aggregator.dedup import (
    INDEXED,
    SKETCH,
    DedupPolicy,
    DupRecord,
    Fingerprint,
    candidate_pairs,
    choose_primary,
    explain,
    fingerprint,
    group_stories,
    score_pair,
    shingles,
    title_similarity,
)
from aggregator.dom import html_to_text
from aggregator.markdown import render_markdown

DATA = Path(__file__).parent / "data" / "dedup"
SHARED = Path(__file__).resolve().parents[2] / "shared"
DAY = datetime(2023, 3, 1, 10, 0, tzinfo=UTC)


def _record(id_: int, text: str, title: str = "A post", **changes: object) -> DupRecord:
    fields: dict[str, object] = {
        "id": id_,
        "url": f"https://example.com/{id_}",
        "source": "blog",
        "title": title,
        "author": None,
        "published": DAY,
        "text": text,
        "kind": "blog",
    }
    fields.update(changes)
    return DupRecord(**fields)  # type: ignore[arg-type]


def _blog_vit() -> DupRecord:
    text = html_to_text((DATA / "vit-blog.html").read_text(encoding="utf-8"))
    return _record(1, text, "ViT 论文笔记：An Image is Worth 16x16 Words", source="blog", author="Tsen")


def _hackmd_vit(published: datetime = DAY + timedelta(hours=2)) -> DupRecord:
    text = html_to_text(render_markdown((DATA / "vit-hackmd.md").read_text(encoding="utf-8")).html)
    title = "[論文筆記] ViT: An Image is Worth 16x16 Words"
    return _record(2, text, title, source="hackmd", kind="hackmd", published=published, author="tsen159")


def _other_vit() -> DupRecord:
    text = html_to_text(render_markdown((DATA / "vit-other-author.md").read_text(encoding="utf-8")).html)
    return _record(3, text, "读论文：Vision Transformer (ViT)", source="other-blog", author="Someone Else")


def _ids(groups: list) -> list[tuple[int, ...]]:
    return [tuple(sorted(g.members)) for g in groups]


# --- the fixtures ---------------------------------------------------------------------------------


def test_blog_post_and_its_hackmd_twin_with_an_edited_title_are_one_story() -> None:
    groups = group_stories([_blog_vit(), _hackmd_vit(), _other_vit()])
    assert _ids(groups) == [(1, 2)]
    assert groups[0].primary == 1  # same day: the blog over HackMD
    assert groups[0].alternates == (2,)
    assert groups[0].pairs[0].rule.startswith("near-identical text")


def test_the_earlier_post_is_the_primary() -> None:
    groups = group_stories([_blog_vit(), _hackmd_vit(published=DAY - timedelta(days=3))])
    assert groups[0].primary == 2


def test_primary_policy_can_prefer_the_blog_whatever_the_dates() -> None:
    policy = DedupPolicy(primary="prefer-kind")
    groups = group_stories([_blog_vit(), _hackmd_vit(published=DAY - timedelta(days=3))], policy)
    assert groups[0].primary == 1


def test_two_peoples_notes_on_the_same_paper_stay_apart() -> None:
    pair = score_pair(_blog_vit(), _other_vit())
    assert not pair.grouped
    assert pair.jaccard < 0.1
    assert group_stories([_blog_vit(), _other_vit()]) == []


def test_a_republished_post_under_a_new_title_is_one_story() -> None:
    text = (DATA / "diffusion-notes.txt").read_text(encoding="utf-8")
    old = _record(10, text, "Notes on Diffusion Models", published=DAY)
    new = _record(
        11, text + "\nUpdated in 2024.", "What I learned re-reading the DDPM paper", published=DAY.replace(2024)
    )
    groups = group_stories([new, old])
    assert _ids(groups) == [(10, 11)]
    assert groups[0].primary == 10


def test_a_feed_excerpt_of_a_long_post_with_the_same_title_is_one_story() -> None:
    text = (DATA / "diffusion-notes.txt").read_text(encoding="utf-8")
    full = _record(1, text, "Notes on Diffusion Models", source="site-as-blog")
    excerpt = _record(2, text[:900], "Notes on Diffusion Models", source="site-as-feed", kind="feed")
    other = _record(3, text[900:1800], "Something else", source="other")  # a quote, under another title
    groups = group_stories([full, excerpt, other])
    assert _ids(groups) == [(1, 2)]
    assert "excerpt" in groups[0].pairs[0].rule


def test_short_texts_need_the_same_title_and_the_same_text() -> None:
    same = [
        _record(1, "Slides are up, see you next week!", "Weekly links"),
        _record(2, "Slides are up!", "Weekly links"),
    ]
    assert group_stories(same) == []
    twins = [
        _record(3, "Slides are up, see you next week!", "Weekly links"),
        _record(4, "Slides are up, see you next week!", "Weekly links"),
    ]
    assert _ids(group_stories(twins)) == [(3, 4)]
    renamed = [
        _record(5, "Slides are up, see you next week!", "Weekly links"),
        _record(6, "Slides are up, see you next week!", "Links"),
    ]
    assert group_stories(renamed) == []
    assert "short text" in explain(renamed[0], renamed[1])


def test_a_split_pair_is_never_grouped_again() -> None:
    blog, hackmd = _blog_vit(), _hackmd_vit()
    assert group_stories([blog, hackmd], splits=[frozenset({1, 2})]) == []
    assert "split by the user" in explain(blog, hackmd, splits=[frozenset({1, 2})])


def test_a_split_holds_against_a_third_copy_that_links_the_two() -> None:
    text = (DATA / "diffusion-notes.txt").read_text(encoding="utf-8")
    copies = [_record(i, text, "Diffusion", published=DAY + timedelta(days=i)) for i in (1, 2, 3)]
    groups = group_stories(copies, splits=[frozenset({1, 3})])
    assert all(not {1, 3} <= set(g.members) for g in groups)
    assert _ids(groups) == [(1, 2)]


def test_a_post_mirrored_in_more_feeds_than_the_posting_cap_is_still_one_story() -> None:
    # each sketch value is in 100 posts, past the cap of 64 that marks boilerplate: the cap counts distinct texts
    text = (DATA / "diffusion-notes.txt").read_text(encoding="utf-8")
    mirrors = [
        _record(i, text, "Diffusion", source=f"aggregator-{i}", published=DAY + timedelta(hours=i)) for i in range(100)
    ]
    other = _record(100, (DATA / "diffusion-notes.txt").read_text(encoding="utf-8")[:900], "Diffusion")
    groups = group_stories([*mirrors, other])
    assert _ids(groups) == [tuple(range(101))]
    assert groups[0].primary == 0
    # every alternate is tied to the primary itself, by the pair that judged them
    assert [(p.a, p.b) for p in groups[0].pairs] == [(0, i) for i in range(1, 101)]
    assert groups[0].pairs[0].rule.startswith("near-identical") and "excerpt" in groups[0].pairs[-1].rule


def test_each_alternate_has_the_pair_that_ties_it_to_the_story() -> None:
    # 3 is a copy of 2, which is an excerpt of 1; 4 copies 1: 2 and 3 are tied to the primary 1 directly
    text = (DATA / "diffusion-notes.txt").read_text(encoding="utf-8")
    records = [
        _record(1, text, "Diffusion"),
        _record(2, text[:900], "Diffusion"),
        _record(3, text[:900], "Diffusion"),
        _record(4, text, "Diffusion", published=DAY + timedelta(days=1)),
    ]
    (group,) = group_stories(records)
    assert group.members == (1, 2, 3, 4)
    assert [(p.a, p.b) for p in group.pairs] == [(1, 2), (1, 3), (1, 4)]
    assert [p.score for p in group.pairs] == [p.score for p in (score_pair(records[0], r) for r in records[1:])]


def test_explain_gives_the_scores_and_the_rule() -> None:
    message = explain(_blog_vit(), _hackmd_vit())
    assert "one story" in message and "near-identical text" in message and "Jaccard" in message
    assert "separate" in explain(_blog_vit(), _other_vit())


def test_sketch_only_grouping_with_texts_loaded_on_demand_gives_the_same_groups() -> None:
    records = [_blog_vit(), _hackmd_vit(), _other_vit()]
    prints = {r.id: fingerprint(r.text) for r in records}
    texts = {r.id: r.text for r in records}
    bare = [DupRecord(r.id, r.url, r.source, r.title, r.author, r.published, "", r.kind) for r in records]
    assert _ids(group_stories(bare, fingerprints=prints, load_text=texts.__getitem__)) == [(1, 2)]
    assert _ids(group_stories(bare, fingerprints=prints)) == [(1, 2)]


def test_title_similarity_folds_scripts_and_punctuation() -> None:
    assert title_similarity("機器學習筆記", "机器学习笔记") == 1.0
    assert title_similarity("ViT: notes", "vit — NOTES") == 1.0
    assert title_similarity("", "x") == 0.0


def test_choose_primary_puts_undated_posts_last() -> None:
    undated = _record(1, "x", published=None, kind="blog")
    dated = _record(2, "x", published=DAY, kind="hackmd")
    assert choose_primary([undated, dated]).id == 2
    assert choose_primary([_record(3, "x", published=None, kind="hackmd"), undated]).id == 1


# --- properties -----------------------------------------------------------------------------------

_VOCABULARY = ["alpha", "beta", "gamma", "delta", "模型", "注意力", "训练", "数据", "the", "of", "and", "$x^2$"]
_WORDS = st.lists(st.sampled_from(_VOCABULARY), max_size=60)


@settings(max_examples=40, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_grouping_is_deterministic_and_independent_of_order(texts: list[list[str]], rng: random.Random) -> None:
    records = [_record(i, " ".join(words), title=" ".join(words[:3])) for i, words in enumerate(texts)]
    shuffled = records[:]
    rng.shuffle(shuffled)
    assert group_stories(records) == group_stories(shuffled)


@settings(max_examples=60, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=6), st.data())
def test_copies_of_a_post_join_its_story_and_change_no_other(texts: list[list[str]], data: st.DataObject) -> None:
    policy = DedupPolicy(min_shingles=3, max_posting=data.draw(st.integers(2, 4)))  # copies overflow the cap
    records = [_record(i, " ".join(words), title=" ".join(words[:3])) for i, words in enumerate(texts)]
    original = data.draw(st.sampled_from(records))
    copies = [
        DupRecord(100 + n, *(getattr(original, f) for f in DupRecord.__slots__[1:]))
        for n in range(data.draw(st.integers(1, 8)))
    ]
    before = {frozenset(g.members) for g in group_stories(records, policy)}
    after = {frozenset(g.members) for g in group_stories(records + copies, policy)}
    story = next((g for g in before if original.id in g), frozenset())
    twins_join = score_pair(original, copies[0], policy).grouped
    joined = story | {c.id for c in copies} | ({original.id} if twins_join else set())
    expected = (before - {story}) | ({joined} if story or twins_join else set())
    assert after == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 7), st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=4))
def test_no_story_ever_holds_a_split_pair(count: int, split: list[tuple[int, int]]) -> None:
    text = (DATA / "diffusion-notes.txt").read_text(encoding="utf-8")
    copies = [_record(i, text, "Diffusion") for i in range(count)]
    splits = [frozenset(pair) for pair in split if len(set(pair)) == 2]
    groups = group_stories(copies, splits=splits)
    assert not any(pair <= set(g.members) for g in groups for pair in splits)
    # a copy that no split names is in the story of every other such copy
    free = set(range(count)) - {x for pair in splits for x in pair}
    assert len({next((g.primary for g in groups if m in g.members), m) for m in free}) <= 1


@settings(max_examples=40, deadline=None)
@given(_WORDS, _WORDS, st.text(max_size=20), st.text(max_size=20))
def test_pair_scores_are_symmetric(a: list[str], b: list[str], ta: str, tb: str) -> None:
    ra, rb = _record(1, " ".join(a), ta), _record(2, " ".join(b), tb)
    assert score_pair(ra, rb) == score_pair(rb, ra)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(-20, 20), max_size=24, unique=True), max_size=40), st.integers(2, 6))
def test_candidate_pairs_are_the_sketches_sharing_enough_indexed_values(values: list[list[int]], cap: int) -> None:
    # small value ranges, so that sketches share values, and a value past the posting cap is boilerplate
    policy = DedupPolicy(max_posting=cap)
    prints = [Fingerprint.of(sorted(v), len(v)) for v in values]
    indexed = [set(sorted(v)[:INDEXED]) for v in values]
    in_posts = Counter(value for values_ in indexed for value in values_)
    expected = [
        (i, j)
        for i, j in combinations(range(len(values)), 2)
        if (shared := len({v for v in indexed[i] & indexed[j] if in_posts[v] <= cap}))
        and shared >= min(policy.min_shared, len(values[i]), len(values[j]), INDEXED)
    ]
    assert candidate_pairs(prints, policy) == expected


def test_a_fingerprint_is_its_packed_sketch() -> None:
    fp = fingerprint("".join(chr(0x4E00 + i * 7919 % 20000) for i in range(600)))  # 600 distinct Han characters
    assert Fingerprint.from_bytes(fp.to_bytes(), fp.size) == fp and fp.length == len(fp.sketch) == SKETCH
    assert list(fp.sketch) == sorted(fp.sketch) and list(fp.smallest(INDEXED)) == list(fp.sketch)[:INDEXED]


@pytest.mark.parametrize("distinct", [100, 193, 400, 5_000])
@pytest.mark.parametrize("kept_for_sort", [dedup._KEPT_FOR_SORT, SKETCH // 2])  # the second: the cut keeps too few
def test_a_sketch_is_the_smallest_shingle_hashes_whatever_the_cut_keeps(
    distinct: int, kept_for_sort: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedup, "_KEPT_FOR_SORT", kept_for_sort)
    text = "".join(chr(0x4E00 + i * 7919 % 20000) for i in range(distinct + 3))  # distinct 4-grams of Han
    fp = fingerprint(text)
    assert fp.size == len(shingles(text)) == distinct
    assert list(fp.sketch) == sorted(shingles(text))[:SKETCH]


@given(st.text(max_size=300))
def test_shingling_never_raises(text: str) -> None:
    assert fingerprint(text).size == len(shingles(text))


# --- synthetic scale data (the benchmark uses the same generator) ---------------------------------

_LATIN = [
    "".join(random.Random(n).choices("abcdefghijklmnopqrstuvwxyz", k=random.Random(-n).randint(2, 9)))
    for n in range(6000)
]
_HAN = [chr(0x4E00 + n * 7) for n in range(2500)]


def synthetic_records(n: int, seed: int = 0, cross_every: int = 20) -> list[DupRecord]:
    """`n` random posts in Chinese or English (Zipf-ish vocabulary, 150 to 900 tokens), plus, for every
    `cross_every`-th post, a HackMD copy with an edited title and a few edits: those pairs, and only
    those, are one story."""
    rng = random.Random(seed)
    weights = [1 / (rank + 10) for rank in range(6000)]
    records: list[DupRecord] = []
    for i in range(n):
        chinese = rng.random() < 0.5
        words = rng.choices(
            _HAN[:2500] if chinese else _LATIN, weights=weights[:2500] if chinese else weights, k=rng.randint(150, 900)
        )
        text = ("" if chinese else " ").join(words)
        when = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 50_000))
        records.append(
            DupRecord(2 * i, f"https://blog{i % 50}.example/{i}", f"blog{i % 50}", f"Post {i}", None, when, text)
        )
        if i % cross_every == 0:
            edited = words[5:] + words[:2]
            copy = ("" if chinese else " ").join(edited)
            records.append(
                DupRecord(
                    2 * i + 1,
                    f"https://hackmd.example/{i}",
                    "hackmd",
                    f"[筆記] Post {i} (copy)",
                    None,
                    when,
                    copy,
                    "hackmd",
                )
            )
    return records


def test_synthetic_cross_posts_are_grouped_and_nothing_else() -> None:
    records = synthetic_records(600)
    groups = group_stories(records)
    assert _ids(groups) == [(2 * i, 2 * i + 1) for i in range(0, 600, 20)]
    assert all(g.primary % 2 == 0 for g in groups)


# --- the shared corpus and the HackMD mock ----------------------------------------------------------

# pages the corpus notes call duplicates of each other (stale copies of one post): one story each
KNOWN_DUPLICATES = {
    ("hugo-notepadium-cse-study", "/ai/2022-01/test-file/", "/algorithm/2022-01/test-file/"),
    ("hugo-notepadium-cse-study", "/ai/2022-08/220823-darts/", "/ai/2022-08/220827-darts/"),
    (
        "hugo-notepadium-cse-study",
        "/algorithm/2022-03/220322-%EB%A9%B4%EC%A0%91-%EC%A4%80%EB%B9%84-%EA%B3%BC%EC%A0%95/",
        "/algorithm/2022-03/220322-coding-interview/",
    ),
}


def _corpus_records() -> list[DupRecord]:
    from aggregator.sources.site.article import extract_article

    records: list[DupRecord] = []
    for site in sorted((SHARED / "corpus").iterdir()):
        truth = json.loads((site / "truth.json").read_text(encoding="utf-8"))
        for post in truth["posts"]:
            page = site / post["file"]
            if not page.exists():
                continue
            article = extract_article(
                page.read_text(encoding="utf-8", errors="replace"), f"https://x.example{post['path']}", None, ()
            )
            text = html_to_text(article.content_html or "")
            records.append(
                DupRecord(len(records), f"{site.name}|{post['path']}", site.name, post["title"], None, None, text)
            )
    profile = json.loads((SHARED / "hackmd-mock" / "profiles" / "tsen159.json").read_text(encoding="utf-8"))
    for note in profile["notes"]:
        markdown = (SHARED / "hackmd-mock" / "notes" / f"{note['id']}.md").read_text(encoding="utf-8")
        text = html_to_text(render_markdown(markdown).html)
        records.append(
            DupRecord(len(records), f"hackmd|{note['id']}", "hackmd", note["title"], "Tsen", None, text, "hackmd")
        )
    return records


@pytest.mark.skipif(
    not (SHARED / "corpus").is_dir() or not (SHARED / "hackmd-mock").is_dir(), reason="no shared corpus"
)
def test_corpus_has_no_false_groups_and_cross_posted_copies_are_grouped() -> None:
    records = _corpus_records()
    by_id = {r.id: r for r in records}
    groups = group_stories(records)
    found = set()
    for group in groups:
        assert len(group.members) == 2, [by_id[m].url for m in group.members]
        a, b = sorted(by_id[m].url for m in group.members)
        site, path_a = a.split("|")
        found.add((site, path_a, b.split("|")[1]))
    assert found == KNOWN_DUPLICATES  # 0 false groups

    # every post with a real body, copied to another source under an edited title, is found again
    bodies = [r for r in records if len(shingles(r.text)) >= 50]
    copies = [
        DupRecord(
            10_000 + r.id,
            f"copy|{r.id}",
            "hackmd-copy",
            f"[筆記] {r.title}",
            r.author,
            None,
            r.text + "\n(轉載)",
            "hackmd",
        )
        for r in bodies
    ]
    grouped = {frozenset(g.members) for g in group_stories(records + copies)}
    missed = [r.url for r in bodies if not any(r.id in g and 10_000 + r.id in g for g in grouped)]
    assert missed == []
