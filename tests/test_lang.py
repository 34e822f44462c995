"""aggregator.lang: the language of a post from its text, not from <html lang>."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.chinese import to_simplified
from aggregator.lang import detect_language

ZH_HANS = (
    "这篇文章记录我读论文时的笔记。作者想知道如果尽量少改动，直"
    "接把标准模型用在图像上会怎样。实验说明数据足够多时效果更好。"
)
ZH_HANT = (
    "這篇文章記錄我讀論文時的筆記。作者想知道如果盡量少改動，直"
    "接把標準模型用在圖像上會怎樣。實驗說明數據足夠多時效果更好。"
)
JA = (
    "この記事では論文を読んだときのメモをまとめます。画像を小さな"
    "パッチに分けて、それぞれを単語のように扱うのがポイントです。"
)
KO = "이 글은 논문을 읽으면서 정리한 노트입니다. 이미지를 작은 패치로 나누고 각각을 단어처럼 다루는 것이 핵심입니다."
EN = (
    "This post collects my notes on the paper. The authors split an image "
    "into patches and treat each of them as a word, which is the key idea."
)
FR = (
    "Cet article rassemble mes notes sur le papier. Les auteurs découpent "
    "une image en morceaux et traitent chacun comme un mot dans une phrase."
)
DE = (
    "Dieser Beitrag sammelt meine Notizen zu dem Artikel. Die Autoren teilen"
    " ein Bild in Stücke und behandeln jedes wie ein Wort, das ist die Idee."
)
ES = (
    "Este artículo reúne mis notas sobre el trabajo. Los autores dividen "
    "una imagen en partes y tratan cada una como una palabra en una frase."
)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (ZH_HANS, "zh-Hans"),
        (ZH_HANT, "zh-Hant"),
        (JA, "ja"),
        (KO, "ko"),
        (EN, "en"),
        (FR, "fr"),
        (DE, "de"),
        (ES, "es"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_traditional_and_simplified_fixtures_differ_only_by_script() -> None:
    assert to_simplified(ZH_HANT) == ZH_HANS


def test_chinese_with_english_terms_math_and_code_is_chinese() -> None:
    text = (
        ZH_HANS
        + " We use the AdamW optimizer. $\\mathcal{L} = \\sum_i \\log p_\\theta(x_i)$ "
        + "```python\nfor i in range(10):\n    print(i)\n```\n"
        + "https://github.com/google-research/vision_transformer"
    )
    assert detect_language(text) == "zh-Hans"


def test_english_quoting_a_little_chinese_is_english() -> None:
    assert detect_language(EN * 5 + " 论文笔记") == "en"


def test_chinese_without_distinctive_characters_is_plain_zh() -> None:
    assert detect_language("我们的方法在三个数据集上都取得了最好的结果，并且速度很快。") in {"zh", "zh-Hans"}
    assert detect_language("人工智能大模型研究方向的问题和方法") == "zh"


@pytest.mark.parametrize(
    "text", ["", "   ", "ok", "论文", "$x^2 + y^2$", "```\ncode only\n```", "Qwen3 GPT-4 DeepSeek-R1"]
)
def test_short_or_empty_text_is_none(text: str) -> None:
    assert detect_language(text) is None


def test_a_list_of_names_is_not_a_language() -> None:
    assert detect_language("ResNet VGG AlexNet Inception MobileNet EfficientNet DenseNet ShuffleNet SqueezeNet") is None


@given(st.text(max_size=500))
def test_detect_language_never_raises(text: str) -> None:
    assert detect_language(text) in {None, "en", "fr", "de", "es", "ja", "ko", "zh", "zh-Hans", "zh-Hant"}
