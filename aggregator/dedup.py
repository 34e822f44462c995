"""One story per post: near-duplicate posts across sources grouped, never deleted.

    records | shingle | bottom-k MinHash sketch | candidates (shared sketch values) | verify | union-find

Tokens are Latin/Hangul words and single Han/kana characters, folded (NFKC, case, Traditional to
Simplified, every number one token, URLs dropped, TeX kept as its words): mixed Chinese-English prose
is one stream. A shingle is 4 tokens (a character 4-gram in Chinese, a word 4-gram in English; 4, not 3,
so stock phrases like "in this paper we" or "的一个" do not make unrelated posts alike). A post keeps
its SKETCH smallest 64-bit shingle hashes (bottom-k MinHash: one hash and one C-level sort, where K
permutations cost K times as much in pure Python). Posts sharing INDEXED-smallest values are candidates
(LSH, one value per band), judged (`judge`) on the sketch estimate, or on exact shingle sets when the
estimate is within its error margin of a threshold.
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
import zlib
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import chain, combinations
from typing import Literal

from aggregator.chinese import to_simplified
from aggregator.text import title_key

_CJK = "\u2e80-\u9fff\u3040-\u30ff\uf900-\ufaff"
_TOKEN = re.compile(rf"[^\W{_CJK}]+|[{_CJK}]")
_URL = re.compile(r"(?:https?://|www\.)[!-~]+")
SHINGLE = 4
SKETCH = 128  # sketch values kept per post: Jaccard estimates within about +-0.04
INDEXED = 16  # the smallest of them index candidates: J >= 0.5 pairs share >= 2 of them but 1 in 4000
# a sketch sorts about this many hashes, not all: sorting 64-bit ints is a third of a sketch's time
_KEPT_FOR_SORT = 3 * SKETCH // 2
MAX_TOKENS = 20_000  # a book-length post is judged by its first 20k tokens: bounded cost per post
# tuple hashing is CPython's: a stored fingerprint is reused only under the same version and interpreter
FINGERPRINT_VERSION = f"1-{SHINGLE}-{SKETCH}-{sys.implementation.cache_tag}"


@dataclass(frozen=True, slots=True)
class DupRecord:
    """What grouping needs of one post. `kind` is the kind of its source: "blog", "feed" or "hackmd"."""

    id: int
    url: str
    source: str
    title: str
    author: str | None
    published: datetime | None
    text: str
    kind: str = "blog"
    title_key: str | None = None  # text.title_key(title), when the caller has it already (the store does)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A post's bottom-k sketch (smallest shingle hashes, ascending) and its number of distinct shingles.

    The sketch is kept packed, 8 bytes a value, as the store holds it (`to_bytes()`, valid while
    FINGERPRINT_VERSION stays the same): 100k sketches take 100 MB so, and took 500 MB as tuples of ints.
    """

    packed: bytes
    size: int

    @classmethod
    def of(cls, values: Iterable[int], size: int) -> Fingerprint:
        return cls(array("q", values).tobytes(), size)

    @property
    def sketch(self) -> array[int]:
        return array("q", self.packed)

    @property
    def length(self) -> int:
        """How many values the sketch holds: SKETCH, or every shingle of a shorter text."""
        return len(self.packed) // 8

    def smallest(self, count: int) -> array[int]:
        return array("q", self.packed[: 8 * count])

    def to_bytes(self) -> bytes:
        return self.packed

    @classmethod
    def from_bytes(cls, data: bytes, size: int) -> Fingerprint:
        return cls(bytes(data), size)


@dataclass(frozen=True, slots=True)
class PairScore:
    """The evidence about two posts and the verdict: `rule` names the rule that grouped them or kept them apart."""

    a: int
    b: int
    jaccard: float
    containment: float
    title: float
    same_author: bool
    sizes: tuple[int, int]
    grouped: bool
    rule: str
    exact: bool = True  # False: scores estimated from the sketches, which left no doubt about the verdict

    @property
    def score(self) -> float:
        """One number to sort and show: text similarity, with containment counting a little less."""
        return round(max(self.jaccard, 0.9 * self.containment), 3)


@dataclass(frozen=True, slots=True)
class StoryGroup:
    """Posts that are one story: the primary first in `members`; `pairs[k]` ties `alternates[k]` to the story
    (the pair with the primary when the two were judged one story directly, else a pair that joined it)."""

    primary: int
    members: tuple[int, ...]
    pairs: tuple[PairScore, ...]

    @property
    def alternates(self) -> tuple[int, ...]:
        return tuple(m for m in self.members if m != self.primary)


@dataclass(frozen=True, slots=True)
class DedupPolicy:
    """Thresholds and the primary choice. `primary`: "earliest" (then blog over HackMD within
    `tie_window`) or "prefer-kind" (the best-ranked kind of source first, then the earliest)."""

    primary: Literal["earliest", "prefer-kind"] = "earliest"
    tie_window: timedelta = timedelta(days=1)
    kind_rank: tuple[str, ...] = ("blog", "feed", "hackmd")
    min_shingles: int = 50  # below this a text is "short": same title and near-identical text, or never
    near_identical: float = 0.8  # Jaccard that groups whatever the titles and authors say
    similar: float = 0.6  # Jaccard that groups with a similar title or the same author
    similar_title: float = 0.5
    contained: float = 0.9  # containment that groups a note and its longer version...
    contained_min_shingles: int = 300  # ...when the note is longer than a quoted abstract
    contained_min_jaccard: float = 0.3
    min_shared: int = 2  # of their INDEXED smallest sketch values, two posts must share this many to be compared
    max_posting: int = 64  # a sketch value in more posts than this is boilerplate, not evidence


DEFAULT_POLICY = DedupPolicy()
Splits = Iterable[frozenset[int]]  # sets of post ids the user split apart: no two of one set are ever grouped


class _TokenIds(dict[str, int]):
    """A stable number per token, computed once per distinct token: the token is folded here (NFKC,
    case, Traditional to Simplified) so the text itself never is, and every bare number is one token."""

    def __missing__(self, token: str) -> int:
        folded = to_simplified(unicodedata.normalize("NFKC", token).casefold())
        value = self[token] = 0 if folded.isdecimal() else zlib.crc32(folded.encode("utf-8", "surrogatepass"))
        return value


_IDS = _TokenIds()


def tokens(text: str) -> list[str]:
    """The comparison tokens of `text`, unfolded: Latin/Hangul words and single Han/kana characters, URLs left out."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)  # "nai\u0308ve" must be one word, as "naïve" is
    if "http" in text or "www." in text:  # a literal scan first: most texts hold no URL
        text = _URL.sub(" ", text)
    return _TOKEN.findall(text)[:MAX_TOKENS]


def shingles(text: str) -> frozenset[int]:
    """The set of 64-bit hashes of every run of SHINGLE folded tokens (of the whole text when it is shorter)."""
    if len(_IDS) > 2_000_000:
        _IDS.clear()  # bound the cache in long-running processes
    ids = list(map(_IDS.__getitem__, tokens(text)))
    if len(ids) < SHINGLE:
        return frozenset([hash(tuple(ids))]) if ids else frozenset()
    # a tuple of ints hashes the same in every CPython process (no hash randomisation for ints)
    return frozenset(map(hash, zip(*(ids[i:] for i in range(SHINGLE)), strict=False)))


def fingerprint(text: str) -> Fingerprint:
    """The bottom-k sketch of a text: computed once per post (and storable), it is all candidate search needs."""
    shingle_set = shingles(text)
    size = len(shingle_set)
    if size > _KEPT_FOR_SORT:
        # hashes are uniform over 64 bits: about _KEPT_FOR_SORT of them fall under this cut, and fewer than
        # SKETCH only one time in a million (4.6 standard deviations), which the full sort below answers
        cut = -(2**63) + (2**64 // size) * _KEPT_FOR_SORT
        low = sorted(filter(cut.__gt__, shingle_set))
        if len(low) >= SKETCH:
            return Fingerprint.of(low[:SKETCH], size)
    return Fingerprint.of(sorted(shingle_set)[:SKETCH], size)


def title_similarity(a: str, b: str) -> float:
    """Dice coefficient of the folded title tokens (words, and Han characters one by one); 0 to 1."""
    ta, tb = _title_tokens(a), _title_tokens(b)
    if not ta or not tb:
        return 0.0
    return 2 * len(ta & tb) / (len(ta) + len(tb))


# grouping compares each post with many candidates: fold each title and author once, not once per pair
@lru_cache(maxsize=1 << 16)
def _title_tokens(title: str) -> frozenset[str]:
    return frozenset(_TOKEN.findall(to_simplified(title_key(title))))


@lru_cache(maxsize=1 << 14)
def _author_key(author: str) -> str:
    return title_key(author)


def same_author(a: DupRecord, b: DupRecord) -> bool | None:
    """True or False when both posts name an author, None when either does not."""
    names = [_author_key(record.author or "") for record in (a, b)]
    return names[0] == names[1] if all(names) else None


def score_pair(a: DupRecord, b: DupRecord, policy: DedupPolicy = DEFAULT_POLICY, *, split: bool = False) -> PairScore:
    """Compare two posts on their exact shingle sets and judge them (see `judge`); a split pair is never one story."""
    pair = _score(a, b, shingles(a.text), shingles(b.text), policy)
    return replace(pair, grouped=False, rule="split by the user") if split else pair


def _score(a: DupRecord, b: DupRecord, sa: frozenset[int], sb: frozenset[int], policy: DedupPolicy) -> PairScore:
    inter = len(sa & sb)
    union = len(sa) + len(sb) - inter
    jaccard = inter / union if union else 0.0
    containment = inter / min(len(sa), len(sb)) if sa and sb else 0.0
    return _pair(a, b, (jaccard, containment), (len(sa), len(sb)), policy)


def _pair(
    a: DupRecord,
    b: DupRecord,
    scores: tuple[float, float],
    sizes: tuple[int, int],
    policy: DedupPolicy,
    *,
    exact: bool = True,
) -> PairScore:
    title = title_similarity(a.title, b.title)
    author = same_author(a, b)
    grouped, rule = judge(scores[0], scores[1], title, author, sizes, policy)
    if a.id > b.id:
        a, b, sizes = b, a, (sizes[1], sizes[0])
    return PairScore(a.id, b.id, scores[0], scores[1], title, bool(author), sizes, grouped, rule, exact)


def estimate(fa: Fingerprint, fb: Fingerprint) -> tuple[float, float, float]:
    """Jaccard and containment estimated from two sketches, and a margin of about three standard errors
    (0 when both sketches hold their whole shingle sets, and the estimate is exact)."""
    if not (fa.packed and fb.packed):
        return 0.0, 0.0, 0.0
    if fa.packed == fb.packed:
        # every value of the union's bottom-k is in both (copies of one post are common)
        jaccard, compared = 1.0, min(SKETCH, len(set(fa.sketch)))
    else:
        in_a, in_b = set(fa.sketch), fb.sketch
        union = in_a.union(in_b)
        smallest = sorted(union)[:SKETCH] if len(union) > SKETCH else union  # the bottom-k of the union
        jaccard, compared = len(in_a.intersection(in_b).intersection(smallest)) / len(smallest), len(smallest)
    margin = 0.0 if max(fa.size, fb.size) <= SKETCH else 3 * math.sqrt(max(jaccard * (1 - jaccard), 0.02) / compared)
    return jaccard, _containment(jaccard, fa.size, fb.size), margin


def _containment(jaccard: float, size_a: int, size_b: int) -> float:
    """The share of the smaller set inside the larger, implied by their Jaccard index and sizes."""
    inter = jaccard * (size_a + size_b) / (1 + jaccard)
    return min(1.0, inter / max(1, min(size_a, size_b)))


def _estimated_pair(
    a: DupRecord, b: DupRecord, fa: Fingerprint, fb: Fingerprint, policy: DedupPolicy, *, certain: bool
) -> PairScore | None:
    """The pair judged on sketch estimates; None if the margin leaves it in doubt and text can settle it."""
    jaccard, containment, margin = estimate(fa, fb)
    sizes = (fa.size, fb.size)
    title, author = title_similarity(a.title, b.title), same_author(a, b)
    low, high = max(0.0, jaccard - margin), min(1.0, jaccard + margin)
    verdicts = {judge(j, _containment(j, *sizes), title, author, sizes, policy)[0] for j in (low, high)}
    if len(verdicts) > 1 and not certain:
        return None
    return _pair(a, b, (jaccard, containment), sizes, policy, exact=margin == 0.0)


def judge(
    jaccard: float, containment: float, title: float, author: bool | None, sizes: tuple[int, int], policy: DedupPolicy
) -> tuple[bool, str]:
    """Whether two posts are one story, and the rule that says so (or why not). First match wins."""
    p = policy
    if min(sizes) < p.min_shingles:
        if title >= 0.999 and jaccard >= 0.9:
            return True, "short texts with the same title and near-identical text"
        return False, f"short text (under {p.min_shingles} shingles) without the same title and near-identical text"
    if jaccard >= p.near_identical:
        return True, f"near-identical text (Jaccard >= {p.near_identical})"
    if title >= 0.999 and containment >= p.contained:
        return True, f"the same title, and one text is an excerpt of the other (containment >= {p.contained})"
    # two people's notes on one paper share titles and quoted abstracts: only the body decides for them
    backed = author is True or (author is None and title >= p.similar_title)
    if jaccard >= p.similar and backed:
        return True, f"similar text (Jaccard >= {p.similar}) with {'the same author' if author else 'a similar title'}"
    holds = containment >= p.contained and min(sizes) >= p.contained_min_shingles
    if holds and jaccard >= p.contained_min_jaccard and backed:
        return True, f"one text holds the other (containment >= {p.contained}) with a similar title or author"
    if author is False and jaccard >= p.similar:
        return False, "different authors: only near-identical text would make one story"
    return False, f"text not similar enough (Jaccard {jaccard:.2f}, containment {containment:.2f})"


def candidate_pairs(prints: Sequence[Fingerprint], policy: DedupPolicy = DEFAULT_POLICY) -> list[tuple[int, int]]:
    """Index pairs (i < j) of fingerprints sharing at least `min_shared` sketch values, in sorted order."""
    indexed = [fp.smallest(INDEXED) for fp in prints]
    # almost every value is in one sketch only: count them all in C, then index only the values that repeat
    # (indexing every value was 1.6 million list appends on 100k posts, 3 s)
    counts = Counter(chain.from_iterable(indexed))
    repeated = {value for value, count in counts.items() if 1 < count <= policy.max_posting}
    postings: dict[int, list[int]] = defaultdict(list)
    for index, values in enumerate(indexed):
        for value in repeated.intersection(values):
            postings[value].append(index)
    shared = Counter(chain.from_iterable(combinations(posting, 2) for posting in postings.values()))
    enough, lengths = min(policy.min_shared, INDEXED), [fp.length for fp in prints]
    # a short text's sketch is its whole set: one shared shingle out of a handful already counts
    return sorted(
        pair for pair, count in shared.items() if count >= enough or count >= min(lengths[pair[0]], lengths[pair[1]])
    )


def _same_titles(ordered: Sequence[DupRecord], policy: DedupPolicy) -> set[tuple[int, int]]:
    """Index pairs of posts with the same folded title: a feed's excerpt of a long post shares too few
    sketch values with it to be found by them."""
    by_title: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(ordered):
        if key := to_simplified(record.title_key or title_key(record.title)):
            by_title[key].append(index)
    return {pair for same in by_title.values() if len(same) <= policy.max_posting for pair in combinations(same, 2)}


def group_stories(
    records: Sequence[DupRecord],
    policy: DedupPolicy = DEFAULT_POLICY,
    splits: Splits = (),
    fingerprints: Mapping[int, Fingerprint] | None = None,
    load_text: Callable[[int], str] | None = None,
) -> list[StoryGroup]:
    """The groups of two or more posts that are one story, by primary id; deterministic whatever the order of
    `records`, and no two ids of a set in `splits` in one group. `fingerprints` (by id) may come from a cache.
    Pairs whose estimate is near a threshold are checked on exact shingle sets, from each record's text or,
    for a record without one (to save memory), from `load_text(id)`.

    Copies (the same sketch, title and author) are searched and judged as one class: a post mirrored in n
    feeds costs n, not n * n, and the posting cap counts distinct texts, so that many copies stay findable."""
    ordered = sorted({r.id: r for r in records}.values(), key=lambda r: r.id)
    interned: dict[Fingerprint, Fingerprint] = {}  # equal sketches become one object: copies' keys compare by id
    prints = [
        interned.setdefault(fp, fp) for fp in ((fingerprints or {}).get(r.id) or fingerprint(r.text) for r in ordered)
    ]
    split_pairs = _split_pairs(splits)
    has_text = [bool(r.text or load_text) for r in ordered]
    classes = _copies(ordered, prints, has_text, {x for pair in split_pairs for x in pair})
    pairs = _Pairs(ordered, prints, has_text, policy, split_pairs, load_text, classes)
    firsts = [i for i in range(len(ordered)) if pairs.first_of.get(i, i) == i] if classes else range(len(ordered))
    for first, members in classes.items():
        pairs.joined.add((first, first))
        for other in members[1:]:
            pairs.join(first, other)  # a star reaches every copy: the class is one story or none
    candidates = candidate_pairs([prints[i] for i in firsts], policy)
    for c, d in sorted(set(candidates) | _same_titles([ordered[i] for i in firsts], policy)):
        pairs.join_classes(classes.get(firsts[c], [firsts[c]]), classes.get(firsts[d], [firsts[d]]))
    by_id = {r.id: r for r in ordered}
    stories = []
    for ids in _union(list(pairs.edges.values()), split_pairs):
        primary = choose_primary([by_id[m] for m in ids], policy).id
        alternates = tuple(m for m in ids if m != primary)
        stories.append(StoryGroup(primary, (primary, *alternates), tuple(pairs.tie(m, primary) for m in alternates)))
    return stories


class _Pairs:
    """Posts judged in pairs, each combination of copies once, and the pairs that are one story (`edges`)."""

    def __init__(
        self,
        ordered: Sequence[DupRecord],
        prints: Sequence[Fingerprint],
        has_text: Sequence[bool],
        policy: DedupPolicy,
        split_pairs: set[frozenset[int]],
        load_text: Callable[[int], str] | None,
        classes: Mapping[int, list[int]],
    ) -> None:
        self.ordered, self.prints, self.has_text, self.policy = ordered, prints, has_text, policy
        self.split_pairs, self.load_text = split_pairs, load_text
        self.ids = [r.id for r in ordered]
        self.judged: dict[tuple[object, ...], PairScore | None] = {}
        self.sets: dict[int, frozenset[int]] = {}
        self.edges: dict[tuple[int, int], PairScore] = {}
        self.joined: set[tuple[int, int]] = set()  # first indexes of two classes judged one story (or one class)
        # a copy's index to its class's first (a post alone is its own)
        self.first_of = {x: first for first, members in classes.items() for x in members}
        self.first_edge: dict[int, PairScore] = {}  # each post's first pair, once all are judged

    def template(self, i: int, j: int) -> PairScore | None:
        """The judgement of posts i < j (indexes), made once for all copies of them; None if in doubt."""
        a, b = self.ordered[i], self.ordered[j]
        both_texts = self.has_text[i] and self.has_text[j]
        key = (id(self.prints[i]), id(self.prints[j]), a.title, b.title, a.author, b.author, both_texts)
        if key not in self.judged:
            self.judged[key] = _estimated_pair(
                a, b, self.prints[i], self.prints[j], self.policy, certain=not both_texts
            )
        return self.judged[key]

    def join(self, i: int, j: int) -> None:
        """Judge posts i and j (indexes) and keep the pair if it is one story."""
        i, j = min(i, j), max(i, j)
        a, b = self.ordered[i], self.ordered[j]
        if self.split_pairs and frozenset((a.id, b.id)) in self.split_pairs:
            return
        t = self.template(i, j)
        pair = (
            _score(a, b, self._exact_set(i), self._exact_set(j), self.policy) if t is None else _between(t, a.id, b.id)
        )
        if pair.grouped:
            self.edges[a.id, b.id] = pair

    def join_classes(self, left: list[int], right: list[int]) -> None:
        """Judge two classes of copies (first indexes left[0] < right[0]): their firsts decide for all, unless
        in doubt, when each pair's exact shingle sets do (copies' texts may differ where sketches cannot tell)."""
        i, j = left[0], right[0]
        if self.template(i, j) is None and (len(left) > 1 or len(right) > 1):
            for x in left:
                for y in right:
                    self.join(x, y)
            return
        # one pair joins them, each copy being tied to its first; tie() gives any two of their members the
        # firsts' judgement (a pair for each copy was 20k of the 34k pairs judged in the bench's cold run)
        self.joined.add((i, j))
        self.join(i, j)

    def tie(self, member: int, primary: int) -> PairScore:
        """The pair that ties `member` (an id) to the story: with `primary` when the two were judged one story
        directly, else the first pair that joined it."""
        lo, hi = min(member, primary), max(member, primary)
        if (lo, hi) in self.edges:
            return self.edges[lo, hi]
        i, j = bisect_left(self.ids, lo), bisect_left(self.ids, hi)
        ends = sorted((self.first_of.get(i, i), self.first_of.get(j, j)))
        split = self.split_pairs and frozenset((lo, hi)) in self.split_pairs
        if not split and tuple(ends) in self.joined and (t := self.template(i, j)) is not None and t.grouped:
            return _between(t, lo, hi)
        if not self.first_edge:
            for edge in self.edges.values():
                self.first_edge.setdefault(edge.a, edge)
                self.first_edge.setdefault(edge.b, edge)
        return self.first_edge[member]

    def _exact_set(self, index: int) -> frozenset[int]:
        if index not in self.sets:
            record = self.ordered[index]
            self.sets[index] = shingles(record.text or (self.load_text(record.id) if self.load_text else ""))
        return self.sets[index]


def _between(t: PairScore, a: int, b: int) -> PairScore:
    """The judgement `t` of two posts, for two copies of them (a < b, in the same order)."""
    if (t.a, t.b) == (a, b):
        return t
    return PairScore(a, b, t.jaccard, t.containment, t.title, t.same_author, t.sizes, t.grouped, t.rule, t.exact)


def _copies(
    ordered: Sequence[DupRecord], prints: Sequence[Fingerprint], has_text: Sequence[bool], split: set[int]
) -> dict[int, list[int]]:
    """Classes of copies that every judgement treats alike (the same sketch, title and author), of two or
    more, by their first index: every index of the class, ascending. A post in a user's split stands alone,
    since a split names single posts."""
    shared = {key for key, count in Counter(map(id, prints)).items() if count > 1}  # most sketches are one post's
    by_key: dict[object, list[int]] = {}
    for index, fp in enumerate(prints):
        record = ordered[index]
        if id(fp) in shared and record.id not in split:
            by_key.setdefault((id(fp), record.title, record.author, has_text[index]), []).append(index)
    return {members[0]: members for members in by_key.values() if len(members) > 1}


def _split_pairs(splits: Splits) -> set[frozenset[int]]:
    """Every pair inside each split set: a set of three ids means all three stay apart."""
    return {frozenset(pair) for ids in splits for pair in combinations(sorted(ids), 2)}


def _union(edges: list[PairScore], split_pairs: set[frozenset[int]]) -> list[list[int]]:
    """Union-find over the edges, strongest first; a merge that would join a split pair is skipped."""
    parent = {x: x for edge in edges for x in (edge.a, edge.b)}
    members = {x: [x] for x in parent}
    partners: dict[int, list[int]] = defaultdict(list)  # who each split post must never join
    for x, y in map(tuple, split_pairs):
        partners[x].append(y)
        partners[y].append(x)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def splits_apart(ra: int, rb: int) -> bool:
        return any(find(y) == rb for x in members[ra] if x in partners for y in partners[x] if y in parent)

    # strongest first decides which merge a split skips; with no split, every order gives the same groups
    for edge in sorted(edges, key=lambda e: (-e.score, e.a, e.b)) if split_pairs else edges:
        ra, rb = find(edge.a), find(edge.b)
        if ra == rb or (partners and splits_apart(ra, rb)):
            continue
        keep, gone = min(ra, rb), max(ra, rb)
        parent[gone] = keep
        members[keep] += members.pop(gone)
    groups = [sorted(group) for root, group in members.items() if parent[root] == root and len(group) > 1]
    return sorted(groups)


def choose_primary(records: Sequence[DupRecord], policy: DedupPolicy = DEFAULT_POLICY) -> DupRecord:
    """The home of a story. "earliest": the first published; among those within `tie_window` of it, the
    best-ranked kind (a blog over HackMD). "prefer-kind": the best-ranked kind, then the earliest.
    Undated posts come after dated ones; the lowest id breaks any remaining tie."""

    ranks = {kind: n for n, kind in enumerate(policy.kind_rank)}

    def key(r: DupRecord) -> tuple[int, float, int]:
        return ranks.get(r.kind, len(ranks)), r.published.timestamp() if r.published else math.inf, r.id

    if policy.primary == "prefer-kind":
        return min(records, key=key)
    first = min(key(r)[1] for r in records)
    return min((r for r in records if key(r)[1] <= first + policy.tie_window.total_seconds()), key=key)


def explain(a: DupRecord, b: DupRecord, policy: DedupPolicy = DEFAULT_POLICY, splits: Splits = ()) -> str:
    """Why two posts are, or are not, one story: the scores and the rule that decided, in one paragraph."""
    pair = score_pair(a, b, policy, split=frozenset((a.id, b.id)) in _split_pairs(splits))
    verdict = "one story" if pair.grouped else "separate"
    author = "same author" if pair.same_author else "authors differ or unknown"
    return (
        f"{a.url} and {b.url}: {verdict}: {pair.rule}. "
        f"Jaccard {pair.jaccard:.2f}, containment {pair.containment:.2f}, title similarity {pair.title:.2f}, "
        f"{author}, shingles {pair.sizes[0]}/{pair.sizes[1]}."
    )
