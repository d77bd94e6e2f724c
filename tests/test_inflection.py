"""The verb tables the follow-up stage and the verifier share (lemminflect's, no model)."""

from __future__ import annotations

import pytest

from qa import inflection


def test_forms_are_every_tense_of_the_verb() -> None:
    assert {"announce", "announced", "announces", "announcing"} <= inflection.forms("announced")
    assert {"pay", "paid", "pays"} <= inflection.forms("paid")
    assert inflection.forms("announce", base=True) >= {"announced", "announcing"}
    assert "said" not in inflection.forms("announced")


@pytest.mark.parametrize(("word", "lemma"), [("paid", "pay"), ("opens", "open"), ("opened", "open"),
                                             ("people", None), ("open", None), ("Paid", None), ("how", None)])
def test_a_tensed_lemma_only_for_a_past_or_present_tense(word: str, lemma: str | None) -> None:
    assert inflection.tensed_lemma(word) == lemma


def test_participles_regular_and_irregular() -> None:
    assert inflection.participle("fined") and inflection.participle("known") and inflection.participle("held")
    assert not inflection.participle("cause")
    # only an irregular participle tells a passive from a past tense by its form
    assert inflection.irregular_participle("held") and inflection.irregular_participle("Built")
    assert not inflection.irregular_participle("fined") and not inflection.irregular_participle("festival")


def test_base_forms_lemmas_and_inflections() -> None:
    assert inflection.base_form("happen") and inflection.base_form("Cost") and not inflection.base_form("happened")
    assert inflection.lemmas("paid") == ("pay",) and inflection.lemmas("zxqv") == ()
    assert inflection.inflect("open", "VBD") == ("opened",) and inflection.inflect("hold", "VBN") == ("held",)
