"""English inflection by lemminflect's tables, for the follow-up stage (``qa.followup``) and the verifier
(``qa.verification``): a question's verb in every tense, its lemma, whether a word is a participle, whether a
word is a common noun's plural.

    forms("announced")          # frozenset({'announce', 'announced', 'announces', 'announcing'})
    tensed_lemma("paid")        # 'pay' (a past or present tense); tensed_lemma("people") is None
    participle("fined")         # True; irregular_participle("fined") is False, ("held") True
    plural_noun("Organisers")   # True; plural_noun("Athens") is False (no common noun)

lemminflect loads its tables on first use (about 0.3 s), so it is imported inside the functions and
``import qa`` stays cheap; ``warm_up()`` loads them ahead of a first question.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=512)
def forms(verb: str, base: bool = False) -> frozenset[str]:
    """Every tense of ``verb`` (a question's "announce", "proposed"), lower-cased; {} for no verb. ``base``:
    the verb is its own lemma ("What did X announce?"), and the lemma table (0.2 s to load) is not needed."""
    from lemminflect import getAllInflections, getLemma

    found: set[str] = set()
    for lemma in {verb} if base else {verb, *getLemma(verb, upos="VERB")}:
        for tenses in getAllInflections(lemma, upos="VERB").values():
            found.update(t.lower() for t in tenses)
    return frozenset(found)


@lru_cache(maxsize=512)
def participle(word: str) -> bool:
    """``word`` is a verb's past participle, regular or not ("fined", "known")."""
    from lemminflect import getAllInflections, getLemma

    tenses = [getAllInflections(lemma, upos="VERB") for lemma in getLemma(word, upos="VERB")]
    return any(word in t.get("VBN", t.get("VBD", ())) for t in tenses)  # a regular verb's VBN is its VBD


@lru_cache(maxsize=512)
def irregular_participle(word: str) -> bool:
    """``word`` is an irregular verb's past participle ("held", "built", "known"; not "fined"): a form that
    is no past tense tells a passive apart ("Where is the festival held?" talks about "the festival")."""
    from lemminflect import getAllInflections, getLemma

    word = word.lower()
    return any(lemma != word and word in getAllInflections(lemma, upos="VERB").get("VBN", ())
               for lemma in getLemma(word, upos="VERB"))


@lru_cache(maxsize=512)
def base_form(word: str) -> bool:
    """``word`` is a verb's base form ("happen", "cost", "stop")."""
    from lemminflect import getAllInflections

    return word.lower() in getAllInflections(word.lower(), upos="VERB").get("VB", ())


def lemmas(word: str) -> tuple[str, ...]:
    """The verb lemmas lemminflect knows ``word`` as ("paid" -> ("pay",)); () for a word it does not know."""
    from lemminflect import getLemma

    return tuple(getLemma(word, upos="VERB", lemmatize_oov=False))


def inflect(lemma: str, tag: str) -> tuple[str, ...]:
    """``lemma`` in the Penn tag's form ("open", "VBD" -> ("opened",)); () for a word lemminflect does not know."""
    from lemminflect import getInflection

    return tuple(getInflection(lemma, tag=tag))


@lru_cache(maxsize=512)
def tensed_lemma(word: str) -> str | None:
    """The lemma of ``word`` when it is a past or present tense of a verb lemminflect knows ("paid" ->
    "pay", "opens" -> "open"), else None ("people", "day", "how")."""
    if not word.isalpha() or not word.islower():
        return None
    for lemma in lemmas(word):
        if lemma != word and any(word in inflect(lemma, tag) for tag in ("VBD", "VBZ")):
            return lemma
    return None


@lru_cache(maxsize=512)
def plural_noun(word: str) -> bool:
    """``word`` is the plural of a common noun lemminflect knows ("organisers", "officials"; "police"), not a
    name that ends in "s" ("Athens", "Reuters", "Brussels": lemminflect knows them as no noun)."""
    from lemminflect import getAllInflections, getLemma

    word = word.lower()
    return any(word in getAllInflections(lemma, upos="NOUN").get("NNS", ())
               for lemma in getLemma(word, upos="NOUN", lemmatize_oov=False))


def warm_up() -> None:
    """Load lemminflect's tables, which the first question that needs them would otherwise wait for."""
    forms("opened")
    tensed_lemma("opened")
