from __future__ import annotations

import random
import re

import pytest

from qa.squad import squad_examples
from qa.training import make_negatives
from qa.training.negatives import (
    antonym_negatives,
    condition_negatives,
    hard_paragraph_negatives,
    negation_negatives,
    swap_negatives,
)

PARIS = ("The Eiffel Tower was finished in 1889 by Gustave Eiffel. It was the tallest structure in the world "
         "until 1930. It stands in Paris on the Champ de Mars.")
LOUVRE = "The Louvre opened in 1793 in Paris. Napoleon renamed it the Musée Napoléon in 1803."
BRIDGES = "The Pont Neuf is the oldest bridge across the Seine in Paris. It was finished in 1607 by Henri IV."
FARM = "Cows give milk. Farmers milk them twice a day."


def ex(id: str, question: str, answer: str, context: str, article: int = 0, paragraph: int = 0) -> dict:
    return {"id": id, "question": question, "context": context, "article": article, "paragraph": paragraph,
            "answers": [{"text": answer, "answer_start": context.index(answer)}]}


EXAMPLES = [
    ex("q1", "When was the Eiffel Tower finished?", "1889", PARIS, 0, 0),
    ex("q2", "Who finished the Eiffel Tower in 1889?", "Gustave Eiffel", PARIS, 0, 0),
    ex("q3", "What was the tallest structure in the world until 1930?", "The Eiffel Tower", PARIS, 0, 0),
    ex("q4", "When did Napoleon rename the Louvre?", "1803", LOUVRE, 0, 1),
    ex("q5", "Which is the oldest bridge across the Seine?", "The Pont Neuf", BRIDGES, 0, 2),
    ex("q6", "How often do farmers milk cows?", "twice a day", FARM, 1, 0),
]


def words_absent(question: str, original: str, context: str) -> list[str]:
    """The words of the changed question that are not in the original question."""
    return [w for w in re.findall(r"\w+", question) if w not in re.findall(r"\w+", original)]


def test_swapped_phrase_is_of_the_same_kind_and_absent_from_the_paragraph() -> None:
    made = swap_negatives(EXAMPLES, 1.0, random.Random(0))
    assert made, "some question has a swappable name, number or date"
    for n in made:
        original = next(e for e in EXAMPLES if e["id"] == n["id"].rsplit("-", 1)[0])
        assert n["answers"] == [] and n["kind"] == "swap" and n["context"] == original["context"]
        new = words_absent(n["question"], original["question"], n["context"])
        assert new, n["question"]
        assert not any(re.search(rf"\b{re.escape(w)}\b", n["context"]) for w in new), (n["question"], new)
    q2 = next(n for n in made if n["id"] == "q2-swap")
    # "1889" became a nearby year or another year of the article; "Eiffel Tower" another name of the article
    assert q2["question"] != EXAMPLES[1]["question"]


def test_antonym_negation_and_condition_change_the_question_only() -> None:
    assert antonym_negatives([EXAMPLES[2]], 1.0, random.Random(0)) == []  # "tallest": no listed opposite
    oldest = antonym_negatives([EXAMPLES[4]], 1.0, random.Random(0))
    assert [n["question"] for n in oldest] == ["Which is the youngest bridge across the Seine?"]
    negated = negation_negatives(EXAMPLES, 1.0, random.Random(0))
    assert "When was not the Eiffel Tower finished?" in [n["question"] for n in negated]
    conditioned = condition_negatives([EXAMPLES[2], EXAMPLES[4]], 1.0, random.Random(0))
    assert len(conditioned) == 1  # the question with "1930" already has a date
    year = re.findall(r"\d{4}", conditioned[0]["question"])[0]
    assert year not in BRIDGES and conditioned[0]["answers"] == []


def test_hard_paragraph_is_the_most_similar_one_without_the_answer() -> None:
    made = hard_paragraph_negatives(EXAMPLES, 1.0, random.Random(0))
    by_id = {n["id"]: n for n in made}
    # the Louvre question's best other match is about Paris, not about cows; none holds "1803"
    assert by_id["q4-hard"]["context"] in (PARIS, BRIDGES)
    for n in made:
        original = next(e for e in EXAMPLES if e["id"] == n["id"].rsplit("-", 1)[0])
        assert original["answers"][0]["text"].lower() not in n["context"].lower()


def test_make_negatives_is_seeded_and_refuses_unknown_kinds() -> None:
    shares = {"other": 1.0, "cut": 1.0, "swap": 1.0, "hard": 1.0}
    assert make_negatives(EXAMPLES, shares, 3) == make_negatives(EXAMPLES, shares, 3)
    assert {n["kind"] for n in make_negatives(EXAMPLES, shares, 3)} <= {"other", "cut", "swap", "hard"}
    with pytest.raises(ValueError, match="unknown negative kinds"):
        make_negatives(EXAMPLES, {"paraphrase": 0.5}, 0)


def test_training_takes_the_new_kinds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from qa.training import TrainingConfig, negative_shares
    from qa.training.trainer import build_parser

    args = build_parser().parse_args(["--train", "t.json", "--out", "o", "--swap-negatives", "0.3",
                                      "--hard-negatives", "0.2"])
    shares = negative_shares(TrainingConfig(**vars(args)))
    assert shares["swap"] == 0.3 and shares["hard"] == 0.2 and shares["antonym"] == 0.0
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [
        {"context": PARIS, "qas": [{"id": "a", "question": "When was the Eiffel Tower finished?",
                                    "answers": [{"text": "1889", "answer_start": PARIS.index("1889")}]}]}]}]}))
    assert squad_examples(path)[0]["answers"][0]["text"] == "1889"
