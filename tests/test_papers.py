"""aggregator.papers: one key per cited paper, from links and bare mentions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator import papers
from aggregator.papers import paper_keys


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("https://arxiv.org/abs/2303.13744", ("arxiv:2303.13744",)),
        ("https://arxiv.org/abs/2303.13744v2", ("arxiv:2303.13744",)),
        ("https://arxiv.org/pdf/2010.11929v2.pdf", ("arxiv:2010.11929",)),
        ("https://arxiv.org/html/2401.00001v1", ("arxiv:2401.00001",)),
        ("http://export.arxiv.org/abs/1706.03762", ("arxiv:1706.03762",)),
        ("https://www.alphaxiv.org/abs/2401.00002", ("arxiv:2401.00002",)),
        ("https://huggingface.co/papers/2401.00003", ("arxiv:2401.00003",)),
        ("https://ar5iv.labs.arxiv.org/html/2401.00004", ("arxiv:2401.00004",)),
        ("see arXiv:2303.13744v2.", ("arxiv:2303.13744",)),
        ("arXiv 2303.13744 and ARXIV: 1706.03762", ("arxiv:2303.13744", "arxiv:1706.03762")),
        ("arXiv:0704.0001", ("arxiv:0704.0001",)),  # the first new-style ID: four digits
        ("arXiv:hep-th/9901001v1", ("arxiv:hep-th/9901001",)),
        ("https://arxiv.org/abs/math.gt/0309136", ("arxiv:math.GT/0309136",)),
        ("doi: 10.1145/3442188.3445922.", ("doi:10.1145/3442188.3445922",)),
        ("https://doi.org/10.1038/S41586-021-03819-2", ("doi:10.1038/s41586-021-03819-2",)),
        ("https://dx.doi.org/10.1000/xyz123?via=home", ("doi:10.1000/xyz123",)),
        ("(see 10.1007/978-3-030-58452-8_13)", ("doi:10.1007/978-3-030-58452-8_13",)),
        ("论文 DOI：10.1145/1234.5678。后面", ("doi:10.1145/1234.5678",)),
        ("https://doi.org/10.48550/arXiv.2010.11929", ("arxiv:2010.11929",)),
        ("https://doi.org/10.18653/v1/2020.acl-main.463", ("acl:2020.acl-main.463",)),
        ("https://openreview.net/forum?id=YicbFdNTTy", ("openreview:YicbFdNTTy",)),
        ("https://openreview.net/pdf?id=YicbFdNTTy", ("openreview:YicbFdNTTy",)),
        ("https://openreview.net/forum?id=abc_D-1&noteId=xyz", ("openreview:abc_D-1",)),
        ("https://aclanthology.org/2020.acl-main.463.pdf", ("acl:2020.acl-main.463",)),
        ("https://aclanthology.org/N18-1202/", ("acl:N18-1202",)),
        ("https://www.aclweb.org/anthology/P19-1001.pdf", ("acl:P19-1001",)),
    ],
)
def test_paper_keys(text: str, keys: tuple[str, ...]) -> None:
    assert paper_keys(text) == keys


@pytest.mark.parametrize(
    "text",
    [
        "",
        "version 2303.13744 of the dataset",  # a bare number is not a citation
        "arXiv:2313.00001",  # month 13
        "arXiv:2303.137445",  # a longer number
        "https://aclanthology.org/volumes/2020.acl-main/",  # a volume, not a paper
        "https://arxiv.org/list/cs.LG/recent",
    ],
)
def test_no_paper_keys(text: str) -> None:
    assert paper_keys(text) == ()


def test_one_key_per_paper_in_order_of_first_appearance() -> None:
    text = (
        "ViT (arXiv:2010.11929) builds on the Transformer (https://arxiv.org/abs/1706.03762v7); "
        "see https://arxiv.org/pdf/2010.11929v2.pdf and doi:10.48550/arXiv.1706.03762 again."
    )
    assert paper_keys(text) == ("arxiv:2010.11929", "arxiv:1706.03762")


def test_links_in_html_count_before_the_text() -> None:
    html = '<p>See <a href="https://openreview.net/forum?id=abc&amp;noteId=d">the review</a> and arXiv:2303.13744</p>'
    assert paper_keys("See the review and arXiv:2303.13744", html) == ("openreview:abc", "arxiv:2303.13744")


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=300)))
def test_paper_keys_never_raises_and_keys_are_unique(text: str, html: str | None) -> None:
    keys = paper_keys(text, html)
    assert len(set(keys)) == len(keys)
    assert all(key.split(":", 1)[0] in {"arxiv", "doi", "openreview", "acl"} for key in keys)


@given(st.sampled_from(["arXiv:", "https://arxiv.org/abs/", "10.1145/", "openreview.net/forum?id="]), st.text())
def test_paper_keys_never_raises_near_prefixes(prefix: str, tail: str) -> None:
    paper_keys(prefix + tail)


_FRAGMENTS = [
    "arxiv", "ArXiv:", "arXiv 2303.13744", "www.arxiv.org/abs/", "export.arxiv.org/pdf/", "2303.13744", "v2", ".",
    "1", "/", " ", "10.1145/3442188.3445922", "doi:", "(", ")", "10.48550/arXiv.2303.13744",
    "huggingface.co/papers/2401.00001", "openreview.net/forum?id=", "abcXYZ_-1", "aclanthology.org/",
    "2020.acl-main.463", "P19-1001", "aclweb.org/anthology/P/P19/", "ar5iv.labs.arxiv.org/html/", "alphaxiv.org/abs/",
    "hep-th/9901001", "math.GT/0309136", "x10.1", "中文", "İ", "&amp;", "?", "&id=", "www.", "ar5iv.org/abs/",
    "0710.1234", "1.10.2/x",
]  # fmt: skip


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=14).map("".join))
def test_scanning_only_at_hints_finds_what_a_full_scan_finds(text: str) -> None:
    full_scan = [key for match in papers._PATTERN.finditer(text) if (key := papers._key_of(match)) is not None]
    assert list(papers._keys_in(text)) == full_scan
