"""Follow-up questions read in the light of earlier turns: completion, context, focus, exclusion."""

from __future__ import annotations

import pytest

from qa.errors import QAError
from qa.followup import PARTS, entities_of, interpret, parse_parts, readings, respelled
from qa.schema import Answer, Citation, Passage


def complete(question: str, recent: list[Answer]) -> str:
    """The likeliest reading of ``question``: what a follow-up is read as when it is the one supported."""
    return readings(question, recent)[0]


def turn(question: str, text: str | None, sentence: str = "", article: str = "a1") -> Answer:
    """An earlier answer, cited from ``sentence`` of ``article``."""
    citations = []
    if text is not None:
        start = max(0, sentence.find(text))
        citations = [Citation(article, "Title", 0, sentence or text, start, start + len(text), 0,
                              len(sentence or text))]
    return Answer(question, text, 0.9, citations)


MACRON = turn("Who offered Russia cooperation?", "Emmanuel Macron",
              "French President Emmanuel Macron said on Monday that he has offered Russia cooperation.")
ZAKHAROVA = turn("Who suggested the United States was trying to blame ISIS?", "Maria Zakharova",
                 "Kremlin spokeswoman Maria Zakharova suggested that the United States was trying to blame ISIS.")
ISIS = turn("Which group claimed responsibility for the attack?", "ISIS",
            "ISIS claimed responsibility for the attack.")
MOSCOW = turn("Where was the concert hall?", "Moscow", "The attack on a Moscow concert hall on Friday.")


@pytest.mark.parametrize(("question", "history", "expected"), [
    ("What did he propose to the Russian services?", [MACRON],
     "What did Emmanuel Macron propose to the Russian services?"),
    ("On which day did he make the offer?", [MACRON], "On which day did Emmanuel Macron make the offer?"),
    ("What is her title?", [ZAKHAROVA], "What is Maria Zakharova's title?"),
    ("What did she say?", [MACRON, ZAKHAROVA], "What did Maria Zakharova say?"),
    ("What did he say?", [MACRON, ZAKHAROVA], "What did Emmanuel Macron say?"),  # gender: "spokeswoman"
    ("When did they claim it?", [ISIS], "When did ISIS claim the attack?"),  # "it": the event asked about
    ("How many people were killed there?", [MOSCOW], "How many people were killed in Moscow?"),
    ("Did he talk to her?", [MACRON, ZAKHAROVA], "Did Emmanuel Macron talk to Maria Zakharova?"),
])
def test_pronouns_are_completed_from_earlier_answers(question: str, history: list[Answer], expected: str) -> None:
    assert complete(question, history[::-1]) == expected


def test_role_phrase_of_the_question_is_an_antecedent() -> None:
    earlier = turn("What did the French president offer Russia?", "increased cooperation",
                   "Macron offered Russia increased cooperation.")
    assert complete("When did he offer it?", [earlier]) == "When did the French president offer increased cooperation?"


def test_fragment_swaps_the_subject_of_the_last_question() -> None:
    earlier = turn("What did Emmanuel Macron say about the attack?", "terror", "Macron said terror.")
    assert complete("What about François Hollande?", [earlier]) == "What did François Hollande say about the attack?"


@pytest.mark.parametrize(("question", "last", "reading"), [
    ("And the date?", "Who offered Russia cooperation?", "When did Emmanuel Macron offer Russia cooperation?"),
    ("And the time?", "Who offered Russia cooperation?",
     "At what time did Emmanuel Macron offer Russia cooperation?"),
    ("What about the cost?", "When did the bridge open?", "What was the cost?"),
    ("And the cause of the fire?", "How many people died in the fire?", "What was the cause of the fire?"),
])
def test_an_attribute_asked_after_a_question_is_asked_for_as_it_stands(question: str, last: str,
                                                                        reading: str) -> None:
    earlier = MACRON if last == MACRON.question else turn(last, None)
    assert complete(question, [earlier]) == reading


@pytest.mark.parametrize("question", [
    "Who is the French Prime Minister?",
    "Were there any survivors?",  # existential "there"
    "Is it true that ISIS claimed the attack?",  # "it" points forward
    "How many Russians were killed?",
])
def test_self_contained_questions_are_left_alone(question: str) -> None:
    assert complete(question, [MOSCOW, MACRON]) == question
    assert interpret(question, [MACRON, MOSCOW]).query == question


def test_no_antecedent_of_the_right_kind_leaves_the_pronoun() -> None:
    assert complete("What did she say?", [MACRON]) == "What did she say?"  # Macron is not a "she"
    assert complete("What did he say?", [MOSCOW]) == "What did he say?"


def test_entities_put_the_latest_answer_first() -> None:
    found = entities_of([ZAKHAROVA, MACRON])
    assert found[0].text == "Maria Zakharova" and found[0].kind == "person" and found[0].gender == "f"
    assert any(e.text == "Emmanuel Macron" and e.turn == 1 for e in found)


def test_the_askers_own_pronoun_tells_the_gender_of_what_it_stood_for() -> None:
    # nothing in the text shows Maria Zakharova's gender; the asker called her "she"
    said = Answer("What did she suggest?", "that the United States was attempting to blame ISIS", 0.9,
                  query="What did Maria Zakharova suggest?")
    medvedev = turn("Who else made similar claims?", "Dmitry Medvedev",
                    "Russia's former President Dmitry Medvedev has also made similar claims.")
    assert [e.gender for e in entities_of([medvedev, said]) if e.text == "Maria Zakharova"] == ["f"]
    assert complete("What did he say?", [medvedev, said]) == "What did Dmitry Medvedev say?"


def test_the_noun_a_which_question_asks_for_tells_its_answers_kind() -> None:
    band = turn("Which band was playing when the storm hit?", "The Coronas",
                "Winds hit the site during a set by the Irish band The Coronas.")
    assert [e.kind for e in entities_of([band]) if e.text == "The Coronas"] == ["group"]
    assert complete("Where are they from?", [band]) == "Where are The Coronas from?"


def test_a_quality_asked_for_is_no_antecedent() -> None:
    colour = turn("What colour was the weather warning?", "yellow", "The Met Office issued a yellow weather warning.")
    assert complete("Who issued it?", [colour]) == "Who issued the weather warning?"


def test_a_participle_after_a_noun_is_not_part_of_it() -> None:
    held = turn("Where is the festival held?", "Pilton Farm", "The festival moved to Pilton Farm in 2015.")
    assert complete("When was it first held?", [held]) == "When was the festival first held?"


@pytest.mark.parametrize(("question", "phrase"), [
    ("When did the attack happen?", "the attack"),
    ("How much did the bridge cost?", "the bridge"),
    ("Why did the bridge open late?", "the bridge"),
    ("When did the football match end?", "the football match"),  # "match" is followed by the verb
    ("When did the concert hall attack happen?", "the concert hall attack"),
    ("Who claimed the concert hall attack?", "the concert hall attack"),  # no auxiliary before it
])
def test_a_questions_subject_ends_before_its_verb(question: str, phrase: str) -> None:
    from qa.followup.entities import phrases

    assert [p for p, _ in phrases(question)] == [phrase]


def test_an_answer_capitalised_only_by_its_sentence_start_is_no_name() -> None:
    critics = turn("Who criticised the cost?", "Opposition councillors",
                   "Opposition councillors criticised the cost and asked the audit office to review it.")
    assert complete("Who did they ask to review it?", [critics]) == \
        "Who did opposition councillors ask to review the cost?"
    fined = turn("Who was fined?", "Lusoponte Engenharia", "Lusoponte Engenharia was fined 2 million euros.")
    assert entities_of([fined])[0].text == "Lusoponte Engenharia"  # a name stays one


def test_one_capitalised_plural_noun_is_they_not_she() -> None:
    organisers = turn("Who evacuated the festival?", "Organisers",
                      "Organisers evacuated the festival on Saturday night.")
    assert [e.kind for e in entities_of([organisers]) if e.text == "organisers"] == ["group"]
    assert readings("What did she promise?", [organisers]) == ["What did she promise?"]
    assert readings("What did they say?", [organisers])[0] == "What did organisers say?"
    ribeiro = turn("Who cut the ribbon?", "Ribeiro", "Ribeiro cut the ribbon at 10am.")
    assert entities_of([ribeiro])[0].text == "Ribeiro"  # one capitalised word that is no common noun: a name


def test_interpret_gives_context_focus_and_query() -> None:
    f = interpret("What did he propose?", [MACRON])
    assert f.query == "What did Emmanuel Macron propose?" and f.completed and f.needs_history
    assert "Who offered Russia cooperation?" in f.context and "Emmanuel Macron" in f.context
    assert f.articles == {"a1": 1.0}


def test_recent_articles_weigh_more() -> None:
    older = turn("Who offered Russia cooperation?", "Emmanuel Macron", "Emmanuel Macron offered.", article="old")
    newer = turn("Where was the attack?", "Moscow", "An attack in Moscow.", article="new")
    f = interpret("What happened there?", [older, newer])
    assert f.articles["new"] > f.articles["old"] > 0


@pytest.mark.parametrize(("question", "last", "past"), [
    ("Why?", turn("What did Gabriel Attal announce?", "the terror alert system would raise its threat warning",
                  "Gabriel Attal announced that the terror alert system would raise its threat warning."), True),
    ("And how?", turn("Who opened the bridge?", "Ana Ribeiro", "Ana Ribeiro opened the bridge on Tuesday."), True),
    # a date may lie inside a long last answer; the verifier tells a name from a date
    ("When?", turn("What was the company fined?", "was fined 2 million euros in 2024",
                   "The company was fined 2 million euros in 2024."), False),
    ("Where?", turn("Who opened the bridge?", "Ana Ribeiro", "Ana Ribeiro opened the bridge on Tuesday."), False),
    ("Why?", turn("Why was the bridge late?", "funding disputes", "It was delayed by funding disputes."), False),
    ("Who?", turn("What did Gabriel Attal announce?", "a rise", "Gabriel Attal announced a rise."), False),
])
def test_a_bare_why_or_how_asks_past_the_last_answer(question: str, last: Answer,
                                                                         past: bool) -> None:
    f = interpret(question, [last])
    assert f.past == ((last.text,) if past else ()) and f.exclude == ()


def test_who_else_excludes_earlier_answers() -> None:
    f = interpret("Who else blamed Ukraine?", [ZAKHAROVA])
    assert f.exclude == ("Maria Zakharova",) and f.query == "Who else blamed Ukraine?"
    assert interpret("Who blamed Ukraine?", [ZAKHAROVA]).exclude == ()


def test_a_new_subject_starts_fresh() -> None:
    f = interpret("Who is Angela Merkel?", [MACRON])
    assert f.query == "Who is Angela Merkel?" and f.articles == {} and f.context == ""


def test_turns_cited_from_removed_articles_are_dropped() -> None:
    f = interpret("What did he propose?", [MACRON], known_articles={"another"})
    assert f.query == "What did he propose?" and f.articles == {}


def test_parts_switch_each_use_of_the_history() -> None:
    only_focus = interpret("What did he propose?", [MACRON], parts=parse_parts("focus"))
    assert only_focus.query == "What did he propose?" and only_focus.context == "" and only_focus.articles
    nothing = interpret("What did he propose?", [MACRON], parts=parse_parts("none"))
    assert (nothing.query, nothing.context, nothing.articles) == ("What did he propose?", "", {})


def test_parse_parts() -> None:
    assert parse_parts("all") == parse_parts(None) == frozenset(PARTS)
    assert parse_parts("complete, focus") == {"complete", "focus"}
    assert parse_parts("none") == frozenset()
    with pytest.raises(QAError, match="unknown follow-up part"):
        parse_parts("complete,magic")


def test_no_history_is_the_question_itself() -> None:
    f = interpret("What did he propose?", [])
    assert f.query == f.question and not f.completed and f.articles == {}


def test_group_phrases_are_antecedents_of_they() -> None:
    earlier = turn("Who suggested the four men were trying to flee into Ukraine?", "Vladimir Putin",
                   "Vladimir Putin suggested that the four men charged were trying to flee into Ukraine.")
    assert complete("Where were they trying to flee to?", [earlier]) == \
        "Where were the four men trying to flee to?"


def test_there_falls_back_to_a_named_event_of_the_last_answer() -> None:
    earlier = turn("What was Hollande immediately reminded of?", "the Bataclan attack",
                   "He was immediately reminded of the Bataclan attack.")
    assert complete("How many people were killed there?", [earlier]) == \
        "How many people were killed in the Bataclan attack?"


@pytest.mark.parametrize(("question", "last", "expected"), [
    ("Where?", "When did the group first gather?", "Where did the group first gather?"),
    ("and why?", "Was the alert raised on Sunday?", "Why was the alert raised on Sunday?"),
    ("By whom?", "In what year was the library founded?", "By whom was the library founded?"),
])
def test_a_bare_question_word_asks_the_last_question_again(question: str, last: str, expected: str) -> None:
    assert complete(question, [turn(last, "x", "x.")]) == expected


@pytest.mark.parametrize(("question", "last", "answer", "expected"), [
    ("When?", "How many people were killed in Moscow?", "137", "When were 137 people killed in Moscow?"),
    ("By whom?", "Which theatre was attacked in 2015?", "Bataclan Theatre",
     "By whom was Bataclan Theatre attacked in 2015?"),
    ("In which city?", "Which theatre was attacked in 2015?", "Bataclan Theatre",
     "In which city was Bataclan Theatre attacked in 2015?"),
])
def test_when_the_question_word_was_a_passives_subject_its_answer_takes_its_place(
        question: str, last: str, answer: str, expected: str) -> None:
    assert complete(question, [turn(last, answer, f"{answer} was there.")]) == expected


@pytest.mark.parametrize(("question", "last", "answer", "expected"), [
    ("When?", "Who opened the bridge?", "the mayor", "When did the mayor open the bridge?"),
    ("Where?", "What happened on Friday?", "an attack on a concert hall",
     "Where did an attack on a concert hall happen on Friday?"),
    ("When?", "Which group claimed the attack?", "ISIS", "When did ISIS claim the attack?"),
    ("Why?", "Who carries the cables?", "the bridge", "Why does the bridge carry the cables?"),
    ("When?", "Who threw the first stone?", "A fan", "When did a fan throw the first stone?"),
    ("Why?", "Who industries the plan?", "the mayor", "Why industries the plan?"),  # no verb known: left alone
])
def test_when_the_question_word_was_its_verbs_subject_its_answer_comes_first(
        question: str, last: str, answer: str, expected: str) -> None:
    assert complete(question, [turn(last, answer, f"{answer} was there.")]) == expected


@pytest.mark.parametrize(("question", "last", "expected"), [
    ("When?", "Who attacked the concert hall?", "When was the concert hall attacked?"),
    ("When?", "What happened in Moscow?", "When did it happen in Moscow?"),
    ("Why?", "Who attacks?", "Why do they attack?"),
    ("Which day?", "Who opened the bridges?", "Which day were the bridges opened?"),
    ("Since when?", "Who investigates the attack?", "Since when is the attack investigated?"),
    ("When?", "Who attacked it?", "When was it attacked?"),
])
def test_when_nothing_answered_the_subject_the_question_goes_on_without_one(
        question: str, last: str, expected: str) -> None:
    # was "When happened in Moscow?", "Which day opened the bridges?"
    assert complete(question, [turn(last, None)]) == expected


def test_a_short_question_with_the_last_ones_verb_asks_for_its_object() -> None:
    paid = turn("How much was paid for the bridge?", "160 million", "The EU paid 160 million for the bridge.")
    assert complete("Who paid?", [paid]) == "Who paid for the bridge?"
    # was "Who paid did European Union pay for the bridge?": a verb of its own is no ellipsis
    eu = turn("Who paid for the bridge?", "European Union", "The European Union paid for the bridge.")
    assert "Who paid did" not in " ".join(readings("Who paid?", [eu]))
    assert readings("Who paid?", [turn("How much did the bridge cost?", "410 million", "It cost 410 million.")]) \
        == ["Who paid?"]  # another verb: nothing to take


@pytest.mark.parametrize(("last", "question", "expected"), [
    ("Was the bridge late?", "Says who?", "Who said that the bridge was late?"),
    ("Did Macron offer help?", "Says who?", "Who said that Macron offered help?"),
    ("Is Putin blaming Ukraine?", "According to whom?", "Who said that Putin is blaming Ukraine?"),
    ("Does it cost 410 million euros?", "Says who?", "Who said that it costs 410 million euros?"),
    ("Why was the bridge late?", "Says who?", "Who said that the bridge was late?"),
])
def test_says_who_after_a_yes_or_no_question_asks_who_said_it(last: str, question: str, expected: str) -> None:
    assert complete(question, [turn(last, None)]) == expected  # was "Was the bridge late Says who?"


def test_says_who_after_a_subject_question_is_asked_as_it_stands() -> None:
    opened = turn("Who opened the bridge?", "the mayor", "The mayor opened the bridge on Tuesday.")
    assert readings("Says who?", [opened]) == ["Says who?"]  # was "Says who opened the bridge?" among them


def test_a_place_answered_with_its_preposition_is_not_given_another() -> None:
    built = turn("Where was the footbridge built?", "in Lyon", "The footbridge was built in Lyon.")
    assert complete("Who paid?", [built]) == "Who paid in Lyon?"  # was "Who paid in in Lyon?"


@pytest.mark.parametrize(("question", "last", "answer", "expected"), [
    ("When?", "How many people died?", "137", "When did 137 people die?"),  # was "When died?"
    ("When?", "How many people died?", None, "When did people die?"),
    ("What for?", "Who opened the bridge?", "the mayor", "What did the mayor open the bridge for?"),  # was "What opened
    ("What for?", "Who opened the bridge?", None, "What was the bridge opened for?"),  # the bridge for?"
    ("Which day?", "Was the bridge late?", None, "Which day was the bridge late?"),  # was "Was the bridge late which
    ("In which city?", "Did Macron offer help?", None, "In which city did Macron offer help?"),  # day?"
])
def test_more_frames_go_on_with_their_subject(question: str, last: str, answer: str | None, expected: str) -> None:
    assert complete(question, [turn(last, answer, f"{answer or 'It'} was there.")]) == expected


def test_whose_thing_asked_after_a_when_takes_no_frame_of_it() -> None:
    last = turn("When did the Kremlin spokeswoman say it?", "Monday", "She said it on Monday.")
    # was "Whose involvement did the Kremlin spokeswoman say it Monday?" (answered wrong at 0.70)
    assert readings("Whose involvement?", [last]) == ["Whose involvement?"]
    assert readings("Which day?", [last])[0] == "Which day did the Kremlin spokeswoman say it?"  # a time may
    assert readings("Whose involvement?", [turn("What did she say?", "it", "She said it.")])[0] == \
        "Whose involvement did she say?"  # after a "what", the frame is as before
    follicles = turn("Where are follicles located?", "in the skin", "Follicles are in the skin.")
    assert "Where are follicles located what layer?" in readings("What layer?", [follicles])  # a refinement


def test_long_answers_are_no_antecedents_and_it_prefers_the_topic() -> None:
    first = turn("Where is Staten Island?", "New York City", "Staten Island is in New York City.")
    second = turn("What separates it from New Jersey?", "the Arthur Kill and the Kill Van Kull",
                  "The borough is separated from New Jersey by the Arthur Kill and the Kill Van Kull.")
    second = Answer(second.question, second.text, 0.9, second.citations,
                    query="What separates Staten Island from New Jersey?")
    assert complete("What is its population?", [second, first]) == "What is Staten Island's population?"
    long = turn("What is it bordered by?", "the counties of Dorset, Somerset, Hampshire and Berkshire", "x")
    assert complete("What was it first named?", [long]) == "What was it first named?"


def test_initials_stay_in_the_name() -> None:
    earlier = turn("What Yale student was hired?", "Frederick G. Kilgour", "Frederick G. Kilgour was hired.")
    assert complete("What was his profession?", [earlier]) == "What was Frederick G. Kilgour's profession?"


def test_a_possessive_completion_does_not_stick_to_the_name() -> None:
    earlier = Answer("What is his wife called?", None, 0.1, query="What is Emmanuel Macron's wife called?")
    assert complete("Which party does he lead?", [earlier, MACRON]) == "Which party does Emmanuel Macron lead?"


# -- readings: every plausible standalone question, the likeliest first ---------------------------

ATTACK = turn("Where was the attack?", "Moscow concert hall", "The attack on a Moscow concert hall on Friday.")
BRIDGE = turn("When did the mayor open the bridge?", "Tuesday", "The mayor opened the bridge on Tuesday.")
KYIV = turn("Who denied having any role?", "Kyiv", "Kyiv has strenuously denied having any role.")
ACCUSED = turn("Who did Maria Zakharova accuse?", "the United States",
               "Maria Zakharova suggested that the United States was attempting to blame ISIS.")
KILLED = Answer("How many people died in it?", "137", 0.6, query="How many people died in the attack?")


def test_the_answer_to_where_is_never_it() -> None:
    """ "Where was the attack?" -> "Moscow concert hall": "it" is what was there, "there" the place."""
    from qa.followup import readings

    assert not any("concert hall" in r for r in readings("How many people died in it?", [ATTACK]))
    assert readings("How many people died there?", [ATTACK])[0] == "How many people died in Moscow concert hall?"


@pytest.mark.parametrize(("question", "history", "first", "also"), [
    # "it" is the event the conversation is about, not the place the last answer named
    ("How many people died in it?", [ATTACK], "How many people died in the attack?", None),
    # ellipsis: the frame of the question before
    ("Which day?", [BRIDGE], "Which day did the mayor open the bridge?", None),
    ("Since when?", [BRIDGE], "Since when did the mayor open the bridge?", None),
    ("Of covering up what?", [ACCUSED], None, "Who did Maria Zakharova accuse of covering up what?"),
    ("And injured?", [KILLED], None, "How many people injured in the attack?"),
    # "they": a place standing for its government
    ("Why did they deny it?", [KYIV], "Why did Kyiv deny it?", None),
])
def test_readings_of_terse_follow_ups(question: str, history: list[Answer], first: str | None,
                                      also: str | None) -> None:
    from qa.followup import MAX_READINGS, readings

    found = readings(question, history)
    assert 1 <= len(found) <= MAX_READINGS
    if first is not None:
        assert found[0] == first
    if also is not None:
        assert also in found


def test_and_with_a_preposition_takes_the_place_of_the_frames_own() -> None:
    said = turn("What did Maria Zakharova say on Monday?", "the United States was attempting to blame ISIS",
                "Maria Zakharova said on Monday that the United States was attempting to blame ISIS.")
    found = readings("and on Sunday?", [said])
    assert found[0] == "What did Maria Zakharova say on Sunday?"
    assert not any(" on on " in r or r.startswith("What on Sunday") for r in found)
    extent = turn("What did it extend to in the east?", "the Indus Valley", "It reached the Indus Valley in the east.")
    assert readings("And in the west?", [extent])[0] == "What did it extend to in the west?"
    founded = turn("What was founded in 1865?", "the Society of Madrid", "The Society of Madrid (1865).")
    assert readings("And in 1870?", [founded])[0] == "What was founded in 1870?"
    assert readings("And in Vienna?", [founded])[0] != "What was founded in Vienna?"  # a place is no year
    first = turn("What was the first one?", "World War II", "It led to World War II and the Holocaust.")
    assert readings("And the second?", [first])[0] == "What was the second one?"


def test_and_with_a_thing_is_not_glued_to_the_question_word() -> None:
    """ "And the day of the attack?" after "who's responsible?" is no "who the day of the attack?"."""
    found = readings("And the day of the attack?", [turn("who's responsible?", "ISIS", "ISIS claimed the attack.")])
    assert "What about the day of the attack?" in found
    assert not any(r.lower().startswith("who the") for r in found)
    assert "How many people injured in the attack?" in readings("And injured?", [KILLED])  # a word of its own still is


def test_an_unanswered_question_whose_object_was_asked_keeps_its_auxiliary() -> None:
    """ "When?" after "What did Darmanin say?" went unanswered: no "When was Darmanin say done?"."""
    unanswered = Answer("What did Darmanin say?", None, 0.1)
    assert readings("When?", [unanswered])[0] == "When did Darmanin say?"
    assert readings("When?", [Answer("Who attacked the concert hall?", None, 0.1)])[0] == \
        "When was the concert hall attacked?"


def test_a_short_question_of_its_own_takes_no_earlier_frame() -> None:
    """Only a vague question ("What kind of help?") takes the frame of an earlier one sharing its word;
    "what desert people use wool?" after "does wool impede heat transfer?" is read as asked."""
    wool = Answer("does wool impede heat transfer?", "they hold air", 0.5)
    assert readings("what desert people use wool?", [wool]) == ["what desert people use wool?"]
    help_ = Answer("Who offered Russia help?", "Emmanuel Macron", 0.8)
    assert readings("What kind of help?", [help_])[0] == "What kind of help did Emmanuel Macron offer Russia?"


def test_a_question_that_needs_nothing_has_one_reading() -> None:
    from qa.followup import readings

    assert readings("Who is the French Prime Minister?", [MACRON]) == ["Who is the French Prime Minister?"]
    assert interpret("Who is the French Prime Minister?", [MACRON]).alternatives == ()
    f = interpret("Which day?", [BRIDGE])
    assert f.readings[0] == f.query and len(f.readings) > 1 and f.needs_history


def test_a_name_the_articles_show_to_be_a_man_is_his_antecedent() -> None:
    # "Macron" alone in a question is no person by its shape; the passages read say "Mr Macron ... he"
    passage = Passage("a1", "Title", 0, 0, 0, "Mr Macron spoke to BFMTV on Monday. He offered help.")
    asked = Answer("Which broadcaster did Macron speak to?", "BFMTV", 0.9,
                   [Citation("a1", "Title", 0, passage.text, 19, 24, 0, 35)], passages=[passage])
    assert complete("What did he offer?", [asked]) == "What did Macron offer?"
    assert complete("What did she offer?", [asked]) == "What did she offer?"  # the articles say "he"
    # a country named in a question is no "he"
    assert complete("What did he say?", [turn("Who offered Russia cooperation?", None)]) == "What did he say?"


def test_an_ellipsis_is_completed_with_the_last_answer_as_its_object() -> None:
    offer = Answer("What did Macron offer?", "an olive branch of sorts", 0.8)
    assert "To whom did Macron offer an olive branch of sorts?" in readings("To whom?", [offer])


@pytest.mark.parametrize(("question", "expected"), [
    ("How many died?", "How many died in the Bataclan Theatre?"),
    ("At what kind of event?", "At what kind of event in the Bataclan Theatre?"),
])
def test_a_question_that_names_nothing_is_about_the_place_talked_about(question: str, expected: str) -> None:
    theatre = turn("Which theatre was attacked in 2015?", "the Bataclan Theatre",
                   "The 2015 attack on the Bataclan Theatre in Paris by ISIS terrorists.")
    found = readings(question, [theatre])
    assert found[0] == expected and found[-1] == question  # as asked stays a reading


@pytest.mark.parametrize("question", [
    "Who said so?",  # points at the last statement, not a place
    "How many Russians died?",  # names its own subject
    "How many died in the attack on the Bataclan Theatre in Paris in 2015?",  # not short
])
def test_questions_that_point_or_name_get_no_place_added(question: str) -> None:
    theatre = turn("Which theatre was attacked in 2015?", "the Bataclan Theatre",
                   "The 2015 attack on the Bataclan Theatre in Paris by ISIS terrorists.")
    assert not any(r.endswith(" in the Bataclan Theatre?") for r in readings(question, [theatre]))


@pytest.mark.parametrize(("question", "passage", "expected"), [
    ("What did Paris offer the Kremlin?", "France offered Russia help. French officials said so.",
     "What did France offer Russia?"),
    ("Who blamed Kyiv?", "Medvedev blamed the Kiev regime, not Ukraine.", "Who blamed Kiev?"),  # a spelling first
    ("Who blamed Kyiv?", "Kyiv denied it.", None),  # the passage names it as asked
    ("Who is the mayor of Lyon?", "The mayor spoke.", None),  # no other name for it
    # a name news writes after "the" keeps it
    ("What did she accuse the US of?", "She said the United States was attempting to blame ISIS.",
     "What did she accuse the United States of?"),
    ("Why did Moscow deny it?", "The Kremlin denied it.", "Why did the Kremlin deny it?"),
])
def test_places_are_read_again_in_the_passages_words(question: str, passage: str, expected: str | None) -> None:
    assert respelled(question, [passage]) == expected


def test_who_said_so_asks_who_said_what_the_last_answer_reports() -> None:
    sentence = ("However, despite ISIS claiming responsibility for the attack, with Kremlin spokeswoman Maria "
                "Zakharova suggesting on Monday that the United States was attempting to blame ISIS for the attack.")
    last = turn("Who did Moscow blame?", "the United States", sentence)
    found = readings("Who said that?", [last])
    # the sentence's own verb, after "claiming responsibility" (no "that": nothing reported there)
    assert found == ["Who suggested that the United States was attempting to blame ISIS for the attack?",
                     "Who said that?"]
    assert readings("Who said so?", [turn("When?", "Monday", "The bridge opened on Monday.")]) == ["Who said so?"]


def test_it_after_say_is_what_was_said() -> None:
    assert complete("When did he say it?", [turn("What did Hollande say?", "the same methods"), MACRON]) == \
        "When did Emmanuel Macron say it?"
    # "claimed it" is claiming the attack, not a statement
    said = turn("Who?", "ISIS", "Macron said that ISIS did it.")
    assert not any("that ISIS did it" in r for r in readings("Who claimed it?", [said]))


def test_a_vague_question_takes_the_frame_of_the_question_that_named_its_noun() -> None:
    asked = turn("Who offered Russia help?", "Emmanuel Macron", "Emmanuel Macron offered Russia help.")
    day = Answer("Which day?", "Monday", 0.9, query="Which day Emmanuel Macron offered Russia help?")
    assert readings("What kind of help?", [day, asked])[0] == "What kind of help did Emmanuel Macron offer Russia?"


@pytest.mark.parametrize(("question", "last", "expected"), [
    # a bare "what sort?" is asked of the last question's object, whose stranded preposition goes
    ("what sort", Answer("who did france offer help to", "Moscow", 0.6), "What sort of help did france offer?"),
    ("What kind?", turn("Who opened the bridge?", "Ana Ribeiro"), "What kind of bridge did Ana Ribeiro open?"),
    ("What type exactly?", Answer("When did the mayor open the new bridge in Lund?", "Monday", 0.7),
     "What type of new bridge did the mayor open in Lund?"),
])
def test_what_sort_asks_the_kind_of_the_last_questions_object(question: str, last: Answer, expected: str) -> None:
    assert expected in readings(question, [last])
    # no object after the verb ("arrest in Moscow"): no kind of anything is made up
    arrested = Answer("Who did the police arrest in Moscow?", "four men", 0.7)
    assert not any(" of " in r for r in readings("What kind?", [arrested]))


@pytest.mark.parametrize(("question", "last", "expected"), [
    # a question of its own after "and" keeps the last question's subject
    ("And how many hurt?", Answer("How many Russians were killed?", "137", 0.9), "How many Russians were hurt?"),
    ("And how many injured?", Answer("How many people died in the attack?", "137", 0.9),
     "How many people injured in the attack?"),
    # a stranded preposition stays at the end
    ("Where to?", Answer("When were the fans moved?", "at 9pm", 0.9), "Where were the fans moved to?"),
])
def test_short_questions_take_the_last_questions_frame(question: str, last: Answer, expected: str) -> None:
    assert readings(question, [last])[0] == expected


def test_says_who_asks_who_said_the_last_answers_sentence() -> None:
    last = turn("Why was the bridge late?", "soft clay on the riverbed",
                "Its chief engineer, Miguel Sousa, said the delays were caused by soft clay on the riverbed.")
    assert readings("Says who?", [last])[0] == "Who said that the delays were caused by soft clay on the riverbed?"


def test_a_name_keeps_the_gender_its_answer_showed_when_a_later_question_repeats_it() -> None:
    day = Answer("Which day?", "Monday", 0.9, query="Which day Emmanuel Macron offered Russia cooperation?")
    assert complete("What did she say?", [day, MACRON]) == "What did she say?"  # Macron is a "he"
    assert complete("What did he say?", [day, MACRON]) == "What did Emmanuel Macron say?"


# -- "What did she say next?" -----------------------------------------------------------------------------

@pytest.mark.parametrize(("question", "plain"), [
    ("What did she say next?", "What did she say?"),
    ("And what else did he say?", "What did he say?"),
    ("What did Darmanin add?", "What did Darmanin add?"),
    ("what did they say after that", "What did they say?"),
    ("What did she say?", None),  # no pointer past the last answer
    ("What else happened?", None),
])
def test_said_next_asks_past_the_last_answer(question: str, plain: str | None) -> None:
    from qa.followup import said_next

    assert said_next(question) == plain


def test_what_she_said_next_is_read_after_the_last_answer_in_its_article() -> None:
    f = interpret("What did she say next?", [ZAKHAROVA])
    assert f.query == "What did Maria Zakharova say?"
    cited = ZAKHAROVA.citations[0]
    assert f.after == (cited.article_id, cited.end)
    assert f.exclude == ()  # "else" here means "after", not "another name"
    assert interpret("What did she say?", [ZAKHAROVA]).after is None


def test_speaker_of_a_standalone_reading() -> None:
    from qa.followup import speaker_of

    assert speaker_of("What did Maria Zakharova say?") == "Maria Zakharova"
    assert speaker_of("What did she say?") is None
    assert speaker_of("Who said it?") is None


def test_a_government_named_by_its_seat_is_they() -> None:
    kremlin = turn("Who has Macron been in a war of words with?", "the Kremlin",
                   "Macron engaged in a war of words with the Kremlin.")
    assert readings("Who do they blame?", [kremlin])[0] == "Who do the Kremlin blame?"


def test_an_event_named_with_a_place_is_it() -> None:
    killed = turn("How many were killed in the Moscow attack?", "137", "The Moscow attack killed 137.")
    assert readings("When did it happen?", [killed])[0] == "When did the Moscow attack happen?"


def test_where_exactly_asks_the_last_question_again() -> None:
    happened = turn("When did the attack happen?", "Friday", "The attack happened on Friday.")
    assert readings("Where exactly?", [happened])[0] == "Where did the attack happen?"


def test_a_job_is_no_ones_name() -> None:
    job = turn("What is Medvedev's former job?", "President", "Russia's former President Dmitry Medvedev spoke.")
    assert readings("What did he say about the terrorists?", [job])[0] == \
        "What did Medvedev say about the terrorists?"


def test_they_are_the_counted_people_and_who_claimed_that_asks_who_said_it() -> None:
    charged = turn("How many men were charged with the attack?", "four",
                   "Putin suggested that the four men charged with the attack were attempting to flee into Ukraine.")
    assert readings("Where were they trying to go?", [charged])[0] == "Where were the four men trying to go?"
    assert readings("Who claimed that?", [charged])[0] == \
        "Who suggested that the four men charged with the attack were attempting to flee into Ukraine?"
    assert not any("suggested" in r for r in readings("Who claimed it?", [charged]))  # claiming the attack


def test_it_is_not_a_name_the_last_question_named_only_after_of() -> None:
    sentence = "The mayor of Lund, Karl Olsen, opened the north bridge on Tuesday."
    first = turn("Who opened the north bridge?", "mayor of Lund, Karl Olsen", sentence)
    when = Answer("When?", "Tuesday", 0.6, first.citations,
                  query="When did the mayor of Lund, Karl Olsen, open the north bridge?")
    found = readings("How much did it cost?", [when, first])  # newest first
    assert found[0] == "How much did the north bridge cost?" and "How much did Lund cost?" in found
    assert [e.text for e in entities_of([when]) if e.modifier] == ["Lund"]


@pytest.mark.parametrize(("question", "passage", "expected"), [
    ("How many were hurt?", "At least 137 Russians were killed and over 100 more injured.", "How many were injured?"),
    ("How many people died in the attack?", "At least 137 Russians were killed.",
     "How many people killed in the attack?"),
    ("How many were hurt?", "Nobody was named.", None),  # no word of the same sense in the passage
    ("How many were injured?", "Over 100 more injured.", None),  # said as the passage says it
])
def test_words_are_read_again_in_the_passages_words(question: str, passage: str, expected: str | None) -> None:
    assert respelled(question, [passage]) == expected


def test_it_is_never_a_people_named_in_the_plural_nor_a_persons_surname() -> None:
    died = turn("How many Russians died?", "137", "The attack saw at least 137 Russians killed.")
    assert not any("Russians" in r for r in readings("Which group claimed it?", [died]))
    suggested = Answer("What did Putin suggest about the four men?", "they were fleeing into Ukraine", 0.6,
                       [Citation("a1", "Title", 0, "Vladimir Putin suggested that they were fleeing into Ukraine.",
                                 36, 66, 0, 60)],
                       passages=[Passage("a1", "Title", 0, 0, 0,
                                         "Vladimir Putin suggested that they were fleeing into Ukraine.")])
    assert [e.kind for e in entities_of([suggested]) if e.text == "Putin"] == ["person"]
    assert not any("Putin" in r for r in readings("Who denied it?", [suggested]))


def test_a_name_with_its_article_is_what_it_stands_for() -> None:
    cell = turn("Which splinter cell is believed to be responsible?", "the Islamic State in Khorasan",
                "The ISIS splinter cell, the Islamic State in Khorasan, believed to be responsible.")
    assert complete("Where has it tried to attack?", [cell]) == \
        "Where has the Islamic State in Khorasan tried to attack?"


def test_he_after_who_is_a_name_is_the_name_not_the_role() -> None:
    attal = turn("Who is Gabriel Attal?", "Prime Minister", "Prime Minister Gabriel Attal announced on Sunday.")
    assert complete("What did he announce?", [attal]) == "What did Gabriel Attal announce?"
    medvedev = turn("Who is Russia's former president?", "Dmitry Medvedev",
                    "Russia's former President Dmitry Medvedev has also made similar claims.")
    assert complete("When did he speak?", [medvedev]) == "When did Dmitry Medvedev speak?"


def test_a_capitalised_opening_word_the_articles_write_in_lower_case_is_no_name() -> None:
    sentence = "France will deal with Moscow at the technical level rather than holding direct talks."
    rather = Answer("Rather than what?", None, 0.3, passages=[Passage("a1", "Title", 0, 1, 0, sentence)])
    level = turn("At what level will France deal with Moscow?", "technical", sentence)
    assert "Rather" not in [e.text for e in entities_of([rather, level])]
    assert complete("What did they say?", [rather, level]) != "What did Rather say?"
    named = Answer("Macron said what?", None, 0.3, passages=[Passage("a1", "Title", 0, 1, 0, "Macron said so.")])
    assert "Macron" in [e.text for e in entities_of([named])]


def test_says_who_asks_nothing_of_a_report_about_something_else() -> None:
    sentence = ("Macron said that for now the contacts with Moscow will be at the technical and ministerial level "
                "rather than direct talks.")
    last = turn("Who is supposedly trying to blame ISIS?", "Macron", sentence)
    # was "Who said that for now the contacts with Moscow will be ...?": the report is not about blaming ISIS
    assert not any("contacts" in r for r in readings("Says who?", [last]))


@pytest.mark.parametrize(("question", "expected"), [
    ("When was it?", "When was the attack?"),  # was "When was ISIS?"
    ("Where did it happen?", "Where did the attack happen?"),
    ("What does it want?", "What does ISIS want?"),  # a thing that wants: the answer, as before
])
def test_when_or_where_it_happened_is_the_event(question: str, expected: str) -> None:
    assert complete(question, [turn("Who claimed the attack?", "ISIS", "ISIS claimed the attack.")]) == expected


@pytest.mark.parametrize(("question", "expected"), [
    ("Rather than what?", "What rather than technical and ministerial?"),
    ("Instead of what?", "What instead of technical and ministerial?"),  # its quotation marks dropped
])
def test_rather_than_what_asks_what_the_last_answer_stands_against(question: str, expected: str) -> None:
    last = turn("At what level will France deal with Moscow?", "“technical and ministerial”")
    # was "Rather than what “technical and ministerial” level will France deal with Moscow?", read as nothing
    assert complete(question, [last]) == expected
    assert complete(question, [turn("At what level will France deal with Moscow?", None)]) != expected


@pytest.mark.parametrize(("question", "answer"), [
    ("What did the project cost?", "410 million euros"),
    ("How deep were the piers driven?", "30 metres"),
    ("What will the commute be?", "twenty minutes"),
])
def test_an_amount_is_never_they(question: str, answer: str) -> None:
    cost = turn(question, answer, f"The figure was {answer}, officials said.")
    assert [e.kind for e in entities_of([cost]) if e.text == answer] == ["amount"]
    assert not any(answer in r for r in readings("What do they want instead?", [cost]))


def test_people_counted_are_still_they() -> None:
    hurt = turn("Who was hurt?", "14 people", "The storm injured 14 people.")
    assert [e.kind for e in entities_of([hurt]) if e.text == "14 people"] == ["group"]


def test_an_action_answering_what_did_x_do_is_no_antecedent() -> None:
    council = turn("What did Somerset Council do?", "opened an inquiry",
                   "Somerset Council has opened an inquiry into the decision to keep the stage open.")
    assert [e.kind for e in entities_of([council]) if e.text == "opened an inquiry"] == ["action"]
    assert readings("When will it report?", [council])[0] == "When will Somerset Council report?"


@pytest.mark.parametrize(("last", "expected"), [
    (turn("What did Somerset Council do?", "opened an inquiry", "Somerset Council has opened an inquiry."),
     "Why did Somerset Council open an inquiry?"),
    (turn("What did Macron do on Monday?", "offered Russia cooperation",
          "Macron offered Russia cooperation on Monday."),
     "Why did Macron offer Russia cooperation on Monday?"),
])
def test_why_after_what_did_x_do_asks_why_x_did_what_was_answered(last: Answer, expected: str) -> None:
    assert readings("Why?", [last])[0] == expected
