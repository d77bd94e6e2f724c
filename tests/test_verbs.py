"""The verb tables the follow-up stage and the verifier share (lemminflect's, no model)."""

from __future__ import annotations

import pytest

from qa import verbs


def test_forms_are_every_tense_of_the_verb() -> None:
    assert {"announce", "announced", "announces", "announcing"} <= verbs.forms("announced")
    assert {"pay", "paid", "pays"} <= verbs.forms("paid")
    assert verbs.forms("announce", base=True) >= {"announced", "announcing"}
    assert "said" not in verbs.forms("announced")


@pytest.mark.parametrize(("word", "lemma"), [("paid", "pay"), ("opens", "open"), ("opened", "open"),
                                             ("people", None), ("open", None), ("Paid", None), ("how", None)])
def test_a_tensed_lemma_only_for_a_past_or_present_tense(word: str, lemma: str | None) -> None:
    assert verbs.tensed_lemma(word) == lemma


def test_participles_regular_and_irregular() -> None:
    assert verbs.participle("fined") and verbs.participle("known") and verbs.participle("held")
    assert not verbs.participle("cause")
    # only an irregular participle tells a passive from a past tense by its form
    assert verbs.irregular_participle("held") and verbs.irregular_participle("Built")
    assert not verbs.irregular_participle("fined") and not verbs.irregular_participle("festival")


def test_base_forms_lemmas_and_inflections() -> None:
    assert verbs.base_form("happen") and verbs.base_form("Cost") and not verbs.base_form("happened")
    assert verbs.lemmas("paid") == ("pay",) and verbs.lemmas("zxqv") == ()
    assert verbs.inflect("open", "VBD") == ("opened",) and verbs.inflect("hold", "VBN") == ("held",)
