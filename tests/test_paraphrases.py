from __future__ import annotations

import random

import numpy as np

from qa.training.paraphrases import paraphrase, paraphrase_positives, word_neighbours

CONTEXT = ("Mr Macron caused concern among his allies by suggesting that NATO troops could be deployed into the "
           "warzone. The Louvre opened in 1793 in Paris.")
NEIGHBOURS = {"suggesting": ["floating", "proposing"], "troops": ["soldiers"], "opened": ["reopened"],
              "deployed": ["sent", "troops"]}


def answer(text: str) -> list[dict]:
    return [{"text": text, "answer_start": CONTEXT.index(text)}]


def test_one_common_word_the_paragraph_uses_is_said_otherwise() -> None:
    seen = {paraphrase("Who was suggesting that NATO troops could be deployed?", CONTEXT, answer("Mr Macron"),
                       NEIGHBOURS, random.Random(seed)) for seed in range(30)}
    # each replacement is a near word the paragraph never uses; "troops" is in it, so never a replacement
    assert seen == {"Who was floating that NATO troops could be deployed?",
                    "Who was proposing that NATO troops could be deployed?",
                    "Who was suggesting that NATO soldiers could be deployed?",
                    "Who was suggesting that NATO troops could be sent?"}


def test_names_numbers_answer_words_and_absent_words_stay() -> None:
    # "NATO" and "1793" are what swap negatives change; "opened" is part of the answer; "warned" is not in it
    assert paraphrase("When was the NATO opened in 1793?", CONTEXT, answer("opened in 1793"), NEIGHBOURS,
                      random.Random(0)) is None
    assert paraphrase("Who warned of troops?", CONTEXT, answer("Mr Macron"), {"warned": ["cautioned"]},
                      random.Random(0)) is None


def test_positives_keep_their_paragraph_and_answers_at_the_share_asked() -> None:
    examples = [{"id": f"q{i}", "question": "Who was suggesting troops?", "context": CONTEXT,
                 "answers": answer("Mr Macron"), "article": 0, "paragraph": 0} for i in range(400)]
    examples.append({**examples[0], "id": "none", "answers": []})
    made = paraphrase_positives(examples, 0.25, random.Random(1), NEIGHBOURS)
    assert 70 <= len(made) <= 130 and all(m["kind"] == "paraphrase" for m in made)
    assert all(m["answers"] == examples[0]["answers"] and m["context"] == CONTEXT for m in made)
    assert all(m["question"] != "Who was suggesting troops?" and m["id"].endswith("-paraphrase") for m in made)


def test_neighbours_are_the_nearest_lower_case_words_and_leave_out_antonyms() -> None:
    class Tokenizer:
        vocab = ["[CLS]", "killed", "murdered", "slain", "first", "last", "Paris", "the"]

        def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
            return [self.vocab[i] for i in ids]

    vectors = np.array([[0, 0, 1], [1, 0.1, 0], [1, 0.2, 0], [1, 0.5, 0.1], [0, 1, 0], [0, 1, 0.05],
                        [1, 0.15, 0], [0.9, 0.1, 0]], dtype=np.float32)
    got = word_neighbours(Tokenizer(), vectors, count=2, min_similarity=0.5)
    assert got["killed"] == ["murdered", "slain"] and got["slain"] == ["murdered", "killed"]
    # antonym-table words, names and short words are neither replaced nor replacements
    assert "first" not in got and "last" not in got and all("Paris" not in v and "the" not in v for v in got.values())
