from __future__ import annotations

import math
import random

import pytest

from qa.answering import compose
from qa.followup import FollowUp
from qa.schema import Passage, Reading, Span
from qa.verification import (
    ANOTHER_ONE,
    EVENT_ELSEWHERE,
    OFF_VERB,
    Signals,
    Verifier,
    abbreviates_asked,
    agent_unsaid,
    checked,
    event_elsewhere,
    fit,
    holds_asked_name,
    names_asker,
    object_of_verb,
    other_holder,
    phrases,
    predict,
    pronoun_did,
    question_type,
    reliability,
    role_in,
    roles,
    says_asked_verb,
    signals,
    type_mismatch,
)

PASSAGE = ("Separately, French Interior Minister Gérald Darmanin said on Monday that all countries are affected. "
           "Darmanin added that there were terror attacks prevented nearly every month in France.")


def test_phrases_find_names_numbers_and_dates_but_not_question_words() -> None:
    q = "In 1990, what did Emmanuel Macron tell the University of Notre Dame in March about 137 people?"
    found = [(kind, q[s:e]) for kind, s, e in phrases(q)]
    assert found == [("year", "1990"), ("proper", "Emmanuel Macron"), ("proper", "University of Notre Dame"),
                     ("month", "March"), ("number", "137")]
    assert phrases("What did he say?") == []


@pytest.mark.parametrize(("question", "kind"), [
    ("When did the attack happen?", "when"), ("In what year was it built?", "when"),
    ("How many people died?", "number"), ("Who is the interior minister?", "who"),
    ("Where is the Bataclan?", "where"), ("What did Kyiv deny?", "other"),
    ("Which day did he make the offer?", "when"), ("On what day was it?", "when"), ("Since when?", "when"),
    ("Is Macron talking to him directly?", "yes/no"), ("Didn't Kyiv deny it?", "yes/no"),
    ("Is it Monday or Friday?", "other"), ("Do you know who offered help?", "who"),
])
def test_question_type(question: str, kind: str) -> None:
    assert question_type(question) == kind


def test_type_mismatch() -> None:
    assert type_mismatch("When did it open?", "Monday") == 0.0
    assert type_mismatch("When did it open?", "the Kremlin") == 1.0
    assert type_mismatch("How many were injured?", "over 100") == 0.0
    assert type_mismatch("How many were injured?", "Moscow") == 1.0
    assert type_mismatch("Who said it?", "the interior minister") == 1.0
    assert type_mismatch("What did Kyiv deny?", "any role") == 0.0


def test_signals_notice_a_name_the_passage_never_mentions() -> None:
    sentence = PASSAGE.split(". ")[0]
    supported = signals("Who is the French interior minister?", "Gérald Darmanin", sentence, PASSAGE,
                        0.9, 0.05, 0.05, 0.1)
    swapped = signals("Who is the Belgian interior minister?", "Gérald Darmanin", sentence, PASSAGE,
                      0.9, 0.05, 0.05, 0.1)
    assert supported.names_missing == 0.0 and supported.any_name_missing == 0.0
    assert swapped.names_missing == 1.0 and swapped.any_name_missing == 1.0
    off_topic = signals("Who is the French defence minister?", "Gérald Darmanin", sentence, PASSAGE,
                        0.9, 0.05, 0.05, 0.1)
    assert off_topic.words_in_sentence < supported.words_in_sentence
    # names are whole words: "US" is not found inside "Russia"
    inside = signals("Which US president blamed ISIS?", "Macron", "Macron offered Russia help.",
                     "Macron offered Russia help against ISIS.", 0.9, 0.05, 0.05, 0.1)
    assert inside.names_missing == 0.5 and inside.any_name_missing == 1.0
    assert math.isclose(supported.span_logit, math.log(0.9 / 0.1))


def _random_signals(rng: random.Random, bad: bool) -> Signals:
    base = dict.fromkeys(Signals.names(), 0.0)
    base["span_logit"] = rng.gauss(-1.0 if bad else 1.5, 1.0)
    base["any_name_missing"] = float(bad and rng.random() < 0.7)
    return Signals(**base)


def test_fit_learns_the_signals_and_is_calibrated_on_fresh_data() -> None:
    rng = random.Random(0)
    labels = [rng.random() < 0.5 for _ in range(3000)]
    rows = [_random_signals(rng, not y) for y in labels]
    model = fit(rows, labels)
    coef = dict(zip(model["features"], model["coef"]))
    assert coef["span_logit"] > 0 and coef["any_name_missing"] < 0
    fresh_labels = [rng.random() < 0.5 for _ in range(3000)]
    scores = [predict(model, _random_signals(rng, not y)) for y in fresh_labels]
    ece, table = reliability(scores, fresh_labels)
    assert ece < 0.05
    assert sum(b["n"] for b in table) == 3000


def test_reliability_table_and_ece_by_hand() -> None:
    ece, table = reliability([0.05, 0.05, 0.95, 0.95], [False, True, True, True], bins=2)
    assert [b["n"] for b in table] == [2, 2]
    assert table[0]["right"] == 0.5 and table[1]["right"] == 1.0
    assert math.isclose(ece, 0.5 * 0.45 + 0.5 * 0.05)


def test_verifier_without_a_model_keeps_the_reader_score() -> None:
    s = _random_signals(random.Random(1), False)
    assert Verifier(None).probability(s, 0.42, retrieved=True) == 0.42
    model = fit([_random_signals(random.Random(i), i % 2 == 0) for i in range(200)], [i % 2 == 1 for i in range(200)])
    verifier = Verifier({"given": model})
    assert verifier.calibrated(retrieved=False) and not verifier.calibrated(retrieved=True)
    assert verifier.probability(s, 0.42, retrieved=False) == pytest.approx(predict(model, s))


def test_follow_ups_use_their_own_model_when_the_reader_has_one() -> None:
    s = _random_signals(random.Random(2), False)
    retrieved = fit([_random_signals(random.Random(i), i % 2 == 0) for i in range(200)],
                    [i % 2 == 1 for i in range(200)])
    follow_up = dict(retrieved, intercept=retrieved["intercept"] + 2.0)  # follow-ups right more often
    both = Verifier({"retrieved": retrieved, "follow_up": follow_up})
    assert both.probability(s, 0.4, retrieved=True, follow_up=True) == pytest.approx(predict(follow_up, s))
    assert both.probability(s, 0.4, retrieved=True) == pytest.approx(predict(retrieved, s))
    # without a follow-up model a follow-up is scored like any retrieved question
    assert Verifier({"retrieved": retrieved}).probability(s, 0.4, retrieved=True, follow_up=True) == \
        pytest.approx(predict(retrieved, s))


def test_a_place_named_otherwise_in_the_passage_is_not_missing() -> None:
    passage = "French President Emmanuel Macron offered Russia cooperation."
    assert signals("What did Paris offer the Kremlin?", "cooperation", passage, passage, 0.5, 0.1, 0.1,
                   0.1).names_missing == 0.0
    assert signals("What did Berlin offer the Kremlin?", "cooperation", passage, passage, 0.5, 0.1, 0.1,
                   0.1).names_missing == 0.5


def test_the_site_a_question_names_is_not_missing_from_its_own_article() -> None:
    passage = "The mayor opened the bridge on Monday."
    asked = "According to the Daily Rhône, when did the bridge open?"
    assert signals(asked, "Monday", passage, passage, 0.5, 0.1, 0.1, 0.1).names_missing == 1.0
    assert signals(asked, "Monday", passage, passage, 0.5, 0.1, 0.1, 0.1, site="Daily Rhône").names_missing == 0.0


def test_a_role_told_apart_by_a_word_must_be_named_in_the_passage() -> None:
    assert roles("Who is the French foreign minister?") == [("foreign", "minister")]
    assert roles("Who is the current prime minister?") == [("prime", "minister")]  # "current" tells no one apart
    assert roles("Who is the French Interior Minister?") == []  # a capitalised title is a name already
    assert role_in("the Minister for Foreign Affairs said", "foreign", "minister")
    assert not role_in(PASSAGE, "foreign", "minister")
    sentence = PASSAGE.split(". ")[0]
    foreign = signals("Who is the French foreign minister?", "Gérald Darmanin", sentence, PASSAGE, 0.9, 0.05, 0.05, 0.1)
    assert foreign.names_missing > 0.0 and foreign.any_name_missing == 1.0  # "French" is there, the role is not
    interior = signals("Who is the French interior minister?", "Gérald Darmanin", sentence, PASSAGE, 0.9, 0.05,
                       0.05, 0.1)
    assert interior.names_missing == 0.0 and interior.any_name_missing == 0.0


COMPARED = ("The attack on the Moscow concert hall has been compared to the 2015 attack on the Bataclan Theatre "
            "in Paris by ISIS terrorists, who killed 90 people attending a rock concert.")


@pytest.mark.parametrize(("question", "answer", "elsewhere"), [
    ("When was the concert hall attacked?", "2015", True),  # the year of the attack it is compared to
    ("How many were killed in the Moscow attack?", "90", True),
    ("When was the Bataclan attacked?", "2015", False),  # the event asked about
    ("How many people died in the attack?", "90", False),  # no word tells the event apart
    ("What was the Moscow attack compared to?", "the 2015 attack on the Bataclan Theatre", False),  # an event
])
def test_an_answer_by_another_event_than_the_questions_is_told(question: str, answer: str, elsewhere: bool) -> None:
    at = COMPARED.find(answer)
    assert event_elsewhere(question, COMPARED, at, at + len(answer)) is elsewhere


def test_an_answer_by_another_event_loses_half_its_probability() -> None:
    first = "The attack on a Moscow concert hall took place on Friday."
    text = f"{first} {COMPARED}"
    passage = Passage("a", "A", 0, 1, 0, text)
    year, day = text.find("2015"), text.find("Friday")
    reading = Reading([Span(0, year, year + 4, "2015", 0.9), Span(0, day, day + 6, "Friday", 0.5)], [0.01])
    q = "When was the concert hall attacked?"
    answer = compose(FollowUp(q, q), [passage], reading, 0.0, 0.0, verifier=Verifier())
    scores = {c.text: c.score for c in [answer, *answer.alternatives]}
    assert scores["2015"] == pytest.approx(0.9 * EVENT_ELSEWHERE) and scores["Friday"] == pytest.approx(0.5)


def test_an_answer_far_from_any_event_is_not_said_of_one() -> None:
    sentence = ("On Monday, former French President François Hollande — who was the leader of France during the "
                "time of the 2015 attack — said that he was reminded of the Bataclan attack.")
    at = sentence.find("François Hollande")
    assert not event_elsewhere("Who was reminded of the Bataclan attack?", sentence, at, at + 17)


def test_an_answer_after_every_name_of_an_event_is_said_of_the_first() -> None:
    sentence = "The Six-Day War, also known as the Third Arab-Israeli War, was fought between June 5 and 10, 1967."
    at = sentence.find("June")
    assert not event_elsewhere("When was the Six-Day War fought?", sentence, at, len(sentence) - 1)
    assert not event_elsewhere("Where was his show?", "His show at the fair was in Southampton, after the war.",
                               33, 44)


def test_checks_recorded_with_an_answer_replay_to_its_probability() -> None:
    """The calibration refits from the checks answers record (``Answer.signals``); those of an answer of
    another event carry "event_elsewhere", which is no signal but halves the probability, as in compose."""
    model = {"features": ["span_logit", "margin"], "mean": [0.0, 0.0], "scale": [1.0, 1.0], "coef": [1.0, 0.5],
             "intercept": 0.2}
    first = "The attack on a Moscow concert hall took place on Friday."
    text = f"{first} {COMPARED}"
    year = text.find("2015")
    reading = Reading([Span(0, year, year + 4, "2015", 0.9)], [0.01])
    q = "When was the concert hall attacked?"
    answer = compose(FollowUp(q, q), [Passage("a", "A", 0, 1, 0, text)], reading, 0.0, 0.0,
                     verifier=Verifier({"retrieved": model}))
    assert answer.signals["event_elsewhere"] == 1.0
    assert answer.score == pytest.approx(checked(model, answer.signals), abs=1e-3)
    plain = predict(model, Signals.of(answer.signals))
    assert checked(model, answer.signals) == pytest.approx(plain * EVENT_ELSEWHERE)
    assert checked(model, Signals.of(answer.signals).to_dict()) == pytest.approx(plain)


ZAKHAROVA = ("Moscow has so far been unwilling to blame ISIS, with Kremlin spokeswoman Maria Zakharova suggesting "
             "on Monday that the United States was attempting to blame ISIS.")


@pytest.mark.parametrize(("question", "answer", "asker"), [
    ("What did the Kremlin spokeswoman claim?", "Maria Zakharova", True),  # the one asked about, named
    ("What did the Kremlin spokeswoman claim?", "the United States", False),
    ("What is the name of the Kremlin spokeswoman?", "Maria Zakharova", False),  # asks for the name
    ("Who is the Kremlin spokeswoman?", "Maria Zakharova", False),
    ("Who did Maria Zakharova accuse?", "ISIS", False),
])
def test_an_answer_that_names_the_one_asked_about_is_told(question: str, answer: str, asker: bool) -> None:
    at = ZAKHAROVA.find(answer)
    assert names_asker(question, ZAKHAROVA, at, at + len(answer)) is asker


@pytest.mark.parametrize(("question", "asker"), [
    ("Who did Gabriel Attal work for?", True),  # his title, right before his name
    ("What did Gabriel Attal announce?", True),
    ("Who did the terror alert system warn?", False),
    ("Who was Gabriel Attal?", False),  # asks for what he is
    ("What was Gabriel Attal called?", False),  # asks for a name of him
])
def test_a_title_right_before_the_name_of_the_one_asked_about_names_him(question: str, asker: bool) -> None:
    sentence = "The comments came after Prime Minister Gabriel Attal announced on Sunday that the alert would rise."
    at = sentence.find("Prime Minister")
    assert names_asker(question, sentence, at, at + len("Prime Minister")) is asker


def test_an_abbreviations_expansion_does_not_name_the_one_asked_about() -> None:
    sentence = "The American Football Conference (AFC) champion Denver Broncos won."
    assert not names_asker("What does AFC stand for?", sentence, 4, 4 + len("American Football Conference"))
    assert not names_asker("What did AFC win?", sentence, 4, 4 + len("American Football Conference"))


@pytest.mark.parametrize(("question", "other"), [
    ("What did the interior minister warn?", True),  # the prime minister speaks there
    ("Which Carolina Panthers player was named Most Valuable Player?", False),  # a name, not a role told apart
    ("What did the prime minister announce?", False),
    ("What did the minister announce?", False),  # no minister told apart
    ("What did Attal announce?", False),
])
def test_an_answer_said_by_another_holder_of_the_questions_role_is_told(question: str, other: bool) -> None:
    sentence = "The comments came after Prime Minister Gabriel Attal announced on Sunday that the alert would rise."
    assert other_holder(question, sentence) is other


def test_such_answers_lose_half_their_probability() -> None:
    passage = Passage("a", "A", 0, 0, 0, ZAKHAROVA)
    name, claim = ZAKHAROVA.find("Maria Zakharova"), ZAKHAROVA.find("the United States was")
    reading = Reading([Span(0, name, name + 15, "Maria Zakharova", 0.8),
                       Span(0, claim, len(ZAKHAROVA) - 1, ZAKHAROVA[claim:-1], 0.5)], [0.01])
    q = "What did the Kremlin spokeswoman claim?"
    answer = compose(FollowUp(q, q), [passage], reading, 0.0, 0.0, verifier=Verifier())
    scores = {c.text: c.score for c in [answer, *answer.alternatives]}
    assert scores["Maria Zakharova"] == pytest.approx(0.8 * ANOTHER_ONE) and answer.text.startswith("the United")


ATTAL = ("The comments came after Prime Minister Gabriel Attal announced on Sunday that the terror alert system "
         "would raise its threat warning to its highest level, calling for “maximum vigilance”.")
FINED = "The construction company, Lusoponte Engenharia, was fined 2 million euros for missing a deadline."
PROPOSED = ("He said per broadcaster BFMTV that his government “proposed to the Russian services, as to our partners "
            "in the region, increased cooperation” in the fight against terrorism.")


@pytest.mark.parametrize(("question", "sentence", "answer", "verdict"), [
    ("What did Gabriel Attal announce?", ATTAL, "the terror alert system would raise its threat warning", True),
    ("What did Attal announce?", ATTAL, "the terror alert system", True),
    ("What did Gabriel Attal announce?", ATTAL, "maximum vigilance", False),  # after another verb
    ("What did Gabriel Attal announce?", ATTAL, "Sunday", False),  # a preposition's object
    ("What did Gabriel Attal say?", ATTAL, "maximum vigilance", None),  # the sentence says no "say"
    ("Who did Gabriel Attal warn?", ATTAL, "maximum vigilance", None),  # no "What did X do?"
    ("What did Macron propose?", PROPOSED, "increased cooperation", True),  # "his" stands for him
    ("What did Macron propose?", PROPOSED, "to the Russian services", False),
    ("What did Macron propose?", PROPOSED, "Russian services", False),  # "proposed to the | Russian services"
    ("What did Macron propose?", PROPOSED, "“proposed to the Russian services", False),  # says the verb itself
    ("What did his government propose to the Russian services?", PROPOSED, "increased cooperation", True),
    ("What did his government propose to the Russian services?", PROPOSED, "Russian services", False),
    ("What did his government deny about the Russian services?", PROPOSED, "increased cooperation", None),
    ("What was the fine of the company fined in 2024?", FINED, "2 million euros", None),  # "fined" is the noun's
    ("What did Maria Zakharova claim?", "Despite ISIS claiming responsibility for the attack, Moscow waits.",
     "responsibility for the attack", None),  # the verb's object, but of someone else
    ("What was the company fined?", FINED, "2 million euros", True),  # a passive's object
    ("What was the company fined?", FINED, "missing a deadline", False),
    ("What was the cause?", FINED, "missing a deadline", None),  # "cause" is no participle
    ("What did the company take the fine to be?", FINED, "missing a deadline", None),  # "be" is no asked verb
])
def test_the_object_of_the_asked_verb_is_told(question: str, sentence: str, answer: str, verdict: bool | None) -> None:
    at = sentence.find(answer)
    assert object_of_verb(question, sentence, at, at + len(answer)) is verdict


def test_beside_the_object_of_the_asked_verb_an_answer_loses_half_its_probability() -> None:
    passage = Passage("a", "A", 0, 0, 0, ATTAL)
    vigilance, alert = ATTAL.find("maximum vigilance"), ATTAL.find("the terror alert system")
    spans = [Span(0, vigilance, vigilance + 17, "maximum vigilance", 0.8),
             Span(0, alert, alert + 23, "the terror alert system", 0.5)]
    q = "What did Gabriel Attal announce?"
    answer = compose(FollowUp(q, q), [passage], Reading(spans, [0.01]), 0.0, 0.0, verifier=Verifier())
    scores = {c.text: c.score for c in [answer, *answer.alternatives]}
    assert answer.text == "the terror alert system" and scores["maximum vigilance"] == pytest.approx(0.8 * OFF_VERB)
    assert answer.alternatives[0].signals["off_verb"] == 1.0
    # no candidate is the verb's object: the reader's favourite keeps its score
    alone = compose(FollowUp(q, q), [passage], Reading(spans[:1], [0.01]), 0.0, 0.0, verifier=Verifier())
    assert alone.text == "maximum vigilance" and alone.score == pytest.approx(0.8)


def test_an_answer_led_by_a_preposition_loses_half_its_probability_even_alone() -> None:
    passage = Passage("a", "A", 0, 0, 0, PROPOSED)
    to = PROPOSED.find("to the Russian services")
    spans = [Span(0, to, to + 23, "to the Russian services", 0.8)]
    q = "What did Macron's government propose?"
    answer = compose(FollowUp(q, q), [passage], Reading(spans, [0.01]), 0.0, 0.0, verifier=Verifier())
    assert answer.text == "to the Russian services" and answer.score == pytest.approx(0.8 * OFF_VERB)
    assert answer.signals["off_verb"] == 1.0
    # beside the verb's object it is halved once, not twice
    cooperation = PROPOSED.find("increased cooperation")
    spans.append(Span(0, cooperation, cooperation + 21, "increased cooperation", 0.5))
    both = compose(FollowUp(q, q), [passage], Reading(spans, [0.01]), 0.0, 0.0, verifier=Verifier())
    assert both.text == "increased cooperation" and both.alternatives[0].score == pytest.approx(0.8 * OFF_VERB)
    # a question that asks to whom is answered by one
    whom = "To whom did Macron's government propose cooperation?"
    asked = compose(FollowUp(whom, whom), [passage], Reading(spans[:1], [0.01]), 0.0, 0.0, verifier=Verifier())
    assert asked.score == pytest.approx(0.8) and "off_verb" not in asked.signals


CARTER = ("The festival's director, Emily Carter, said safety staff had been warned of the storm at 6pm but had "
          "decided the stage was safe.")
MET_OFFICE = "The Met Office had issued a yellow weather warning for the region on Friday."


@pytest.mark.parametrize(("question", "sentence", "unsaid"), [
    ("Who warned of the storm?", CARTER, True),  # only "had been warned": the one who warned is not named
    ("Who warned of the storm?", MET_OFFICE, False),  # "warning" is no passive
    ("Who warned safety staff?", "Safety staff were warned by the Met Office at 6pm.", False),  # "by" names them
    ("Who decided the stage was safe?", CARTER, False),  # "had decided": active
    ("Who was warned of the storm?", CARTER, False),  # a passive question asks for the one warned
    ("Who else warned of the storm?", CARTER, False),
    ("Who warned of the storm?", "Emily Carter spoke on Sunday.", False),  # the sentence never says the verb
])
def test_a_sentence_that_never_says_who_did_it_is_told(question: str, sentence: str, unsaid: bool) -> None:
    assert agent_unsaid(question, sentence) is unsaid


@pytest.mark.parametrize(("text", "question", "marked", "answer", "check"), [
    (CARTER + " " + MET_OFFICE, "Who warned of the storm?", "Emily Carter", "The Met Office", "agent_unsaid"),
    ("The festival's director was Emily Carter. She apologised to fans on Sunday and promised full refunds.",
     "Who apologised?", "fans", "Emily Carter", "pronoun_did"),
])
def test_an_answer_from_such_a_sentence_loses_half_its_probability(text: str, question: str, marked: str,
                                                                    answer: str, check: str) -> None:
    passage = Passage("a", "A", 0, 0, 0, text)
    at, other = text.find(marked), text.find(answer)
    spans = [Span(0, at, at + len(marked), marked, 0.7), Span(0, other, other + len(answer), answer, 0.5)]
    found = compose(FollowUp(question, question), [passage], Reading(spans, [0.01]), 0.0, 0.0, verifier=Verifier())
    assert found.text == answer and found.alternatives[0].signals[check] == 1.0
    assert found.alternatives[0].score == pytest.approx(0.7 * ANOTHER_ONE)


APOLOGY = "She apologised to fans on Sunday and promised full refunds for the final day."


@pytest.mark.parametrize(("question", "sentence", "answer", "pronoun"), [
    ("Who apologised?", APOLOGY, "fans", True),  # the doer is only "She"
    ("Who apologised?", "She has since apologised to fans.", "fans", True),
    ("Who apologised?", "Emily Carter apologised to fans.", "fans", False),  # named: other checks' business
    ("Who apologised?", "She was apologised to by the organisers.", "the organisers", False),  # "by": the doer
    ("Who appoints elders?", "They may be appointed to the local church.", "the local church", False),  # passive
    ("Who promised refunds?", APOLOGY, "fans", False),  # before the verb
    ("What did she apologise for?", APOLOGY, "fans", False),  # no "Who did it?"
])
def test_an_answer_after_a_verb_whose_doer_is_only_a_pronoun_is_told(question: str, sentence: str, answer: str,
                                                                     pronoun: bool) -> None:
    start = sentence.find(answer)
    assert pronoun_did(question, sentence, start, start + len(answer)) is pronoun


@pytest.mark.parametrize(("question", "answer", "says"), [
    ("Who promised full refunds?", "fans on Sunday and promised full refunds", True),
    ("Who denied involvement?", "Kyiv has strenuously denied having any role", True),  # another tense
    ("Who denied involvement?", "Kyiv", False),
    ("What did Kyiv deny?", "Kyiv denied having any role", False),  # no "Who did it?"
])
def test_an_answer_to_who_did_it_that_says_the_verb_is_told(question: str, answer: str, says: bool) -> None:
    assert says_asked_verb(question, answer) is says


@pytest.mark.parametrize(("question", "answer", "holds"), [
    ("Who was François Hollande?", "former French President François Hollande — who was the leader of France", True),
    ("Who was François Hollande?", "former French President", False),
    ("Who is Hollande?", "François Hollande", True),  # the name says nothing about him
    ("Who is the French interior minister?", "French Interior Minister Gérald Darmanin", False),  # asks for a name
    ("What is European Union Law?", "the laws of European Union member states", False),  # a definition may say it
    ("Who did Hollande succeed?", "François Hollande", False),  # no "Who is X?"
])
def test_an_answer_that_holds_the_name_a_who_is_question_asks_about_is_told(question: str, answer: str,
                                                                            holds: bool) -> None:
    assert holds_asked_name(question, answer) is holds


def test_such_an_answer_loses_half_its_probability_and_the_description_wins() -> None:
    text = "On Monday, former French President François Hollande — who was the leader of France — spoke."
    passage = Passage("a", "A", 0, 0, 0, text)
    long_one = "former French President François Hollande — who was the leader of France"
    at = text.find(long_one)
    spans = [Span(0, at, at + len(long_one), long_one, 0.8), Span(0, at, at + 23, "former French President", 0.6)]
    q = "Who was François Hollande?"
    answer = compose(FollowUp(q, q), [passage], Reading(spans, [0.01]), 0.0, 0.0, verifier=Verifier())
    assert answer.text == "former French President" and answer.alternatives[0].score == pytest.approx(0.8 * ANOTHER_ONE)


@pytest.mark.parametrize(("question", "answer", "echo"), [
    ("What is Islamic State in Khorasan a splinter cell of?", "IS-K", True),  # the name asked about, in short
    ("What is Islamic State in Khorasan a splinter cell of?", "ISIS", False),
    ("What is the Islamic State in Khorasan called for short?", "IS-K", False),  # asked for
    ("What did the European Union pay?", "the EU", True),
    ("What U.S. entity said that corporal punishment was Constitutional?", "US Supreme Court", False),  # more
])
def test_an_answer_that_only_abbreviates_a_name_the_question_spells_out_is_told(question: str, answer: str,
                                                                                 echo: bool) -> None:
    assert abbreviates_asked(question, answer) is echo


def test_what_a_follow_up_asks_past_is_no_answer_inside_a_longer_span_or_cut_shorter() -> None:
    passage = Passage("a", "A", 0, 0, 0, ATTAL)
    alert = ATTAL.find("the terror alert system")
    raise_ = ATTAL.find("raise its threat warning")
    vigilance = ATTAL.find("maximum vigilance")
    spans = [Span(0, raise_, raise_ + 24, "raise its threat warning", 0.9),
             Span(0, vigilance, vigilance + 17, "maximum vigilance", 0.4)]
    last = ATTAL[alert:ATTAL.find(" to its highest level")]  # "the terror alert system would raise its threat warning"
    q = "Why?"
    answer = compose(FollowUp(q, "Why did Gabriel Attal announce?", past=(last,)), [passage], Reading(spans, [0.01]),
                     0.0, 0.0, verifier=Verifier())
    assert answer.text == "maximum vigilance"
    kept = compose(FollowUp(q, "Why did Gabriel Attal announce?"), [passage], Reading(spans, [0.01]), 0.0, 0.0,
                   verifier=Verifier())
    assert kept.text == "raise its threat warning"
