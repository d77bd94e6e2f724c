from __future__ import annotations

from qa.ingest import make_article
from qa.sentences import split_sentences, split_text
from tests.conftest import SEED


def test_spans_index_the_original_text() -> None:
    text = "  Mr. Smith went to Washington.  He arrived at 5 p.m. on Monday!\n\nDid he stay?  Yes."
    spans = split_text(text)
    pieces = [text[s:e] for s, e in spans]
    assert pieces == ["Mr. Smith went to Washington.", "He arrived at 5 p.m. on Monday!", "Did he stay?",
                      "Yes."]


def test_lines_never_share_a_sentence() -> None:
    text = "Headline without stop\nBody sentence one."
    assert [text[s:e] for s, e in split_text(text)] == ["Headline without stop", "Body sentence one."]


def test_seed_article_sentences() -> None:
    text = SEED.read_text(encoding="utf-8")
    article = make_article("seed", "Seed", text, "seed.txt")
    sentences = split_sentences(article)
    assert len(sentences) >= 14
    for i, s in enumerate(sentences):
        assert s.index == i and s.article_id == "seed"
        assert text[s.start : s.end] == s.text and s.text == s.text.strip()
    assert sentences[0].text.startswith("Fresh from engaging") and sentences[0].text.endswith("on Friday.")
    assert any(s.text.startswith("“This particular group") for s in sentences)


def test_news_abbreviations_and_words_that_look_like_them() -> None:
    text = ("Mr. Smith arrived. Ms. Jones left with Prof. Li and Sen. Warren. The Kremlin said no. Kremlin aides "
            "agreed. He came in May. Ribault left. He is No. 1 in the world. We met at 5 p.m. on Monday in the U.S. "
            "Then we left.")
    assert [text[s:e] for s, e in split_text(text)] == [
        "Mr. Smith arrived.", "Ms. Jones left with Prof. Li and Sen. Warren.", "The Kremlin said no.",
        "Kremlin aides agreed.", "He came in May.", "Ribault left.", "He is No. 1 in the world.",
        "We met at 5 p.m. on Monday in the U.S.", "Then we left."]
