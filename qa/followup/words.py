"""The follow-up stage's vocabulary: pronouns, cues of gender, groups, places, events, and the
patterns of question words (``qa.followup``)."""

from __future__ import annotations

import re

from qa.dates import MONTHS, WEEKDAYS
from qa.text import TOKEN

RECENT_TURNS = 3  # turns whose entities pronouns may refer to, newest first
MAX_ENTITY_WORDS = 4  # a longer answer ("the counties of Dorset, Somerset, ...") is no antecedent

NAME_JOINS = frozenset({"of", "in", "de", "al", "von", "van", "the"})  # inside a name: "Islamic State in Khorasan"

MALE = {"he", "him", "his", "himself"}
FEMALE = {"she", "her", "hers", "herself"}
PLURAL = {"they", "them", "their", "theirs", "themselves"}
NEUTER = {"it", "its", "itself"}
PRONOUNS = MALE | FEMALE | PLURAL | NEUTER | {"there"}
POSSESSIVE_PRONOUNS = {"his", "its", "their", "hers", "theirs"}
ELSE = {"else", "other", "others", "another"}
VAGUE = {"kind", "type", "sort", "many", "much", "long", "often", "old", "far", "happened", "happen", "did", "do"}
SAY = {"say", "said", "says", "tell", "told", "write", "wrote", "mean", "meant"}  # "say it": what was said
POINTERS = {"so", "that", "this", "these", "those", "then"}  # "Who said so?": the last answer's speaker
QUESTION_WORDS = {"who", "whom", "whose", "what", "which", "when", "where", "why", "how", "is", "are", "was",
                   "were", "do", "does", "did", "can", "could", "will", "would", "has", "have", "had", "should",
                   "in", "on", "at", "to", "for", "from", "by", "with", "and", "but", "so", "the", "a", "an"}
BE = {"is", "are", "was", "were", "be", "been", "being", "'s", "'re", "am"}
FUNCTION = QUESTION_WORDS | BE | {"of", "about", "that", "this", "these", "those", "there", "then", "not", "no",
                                     "any", "some", "all", "than", "as", "or", "if", "into", "after", "before",
                                     "since", "during", "also", "too", "else", "other", "it", "its", "they",
                                     "their", "them", "he", "his", "him", "she", "her", "mr", "mrs", "ms"} | {
    # prepositions and conjunctions that open a question ("Through what?") and are never its names
    "through", "over", "under", "against", "between", "among", "across", "toward", "towards", "without", "within",
    "via", "per", "despite", "until", "upon", "behind", "beyond", "near", "because", "besides", "except", "instead",
    "along", "around", "like", "unlike", "apart", "whereas", "while", "though", "although", "yet"}
# Words before "her" that make it an object ("told her"), not a possessive ("her title")
AFTER_OBJECT = {"?", ".", "!", ",", "to", "in", "on", "at", "for", "from", "by", "with", "about", "and", "or",
                 "as", "that", "when", "after", "before", "during", "into", "over", "than", "so", "because", "if"}

MALE_CUES = {"mr", "sir", "king", "prince", "spokesman", "chairman", "man", "father", "son", "brother",
              "husband", "actor", "boy", "lord", "uncle", "nephew", "emperor", "duke", "he", "his", "him"}
FEMALE_CUES = {"mrs", "ms", "miss", "madam", "queen", "princess", "spokeswoman", "chairwoman", "woman",
                "mother", "daughter", "sister", "wife", "actress", "girl", "lady", "aunt", "niece", "empress",
                "duchess", "she", "her"}
GROUP_WORDS = {"group", "groups", "state", "party", "government", "army", "forces", "troops", "militants",
                "terrorists", "services", "police", "company", "team", "council", "union", "organisation",
                "organization", "regime", "cell", "network", "family", "people", "men", "women", "countries",
                "allies", "officials", "leaders", "ministers", "authorities", "band", "club", "agency",
                "committee", "association", "movement", "orchestra", "coalition", "alliance", "gang"}
# Last words of names of places and institutions, not people: "Staten Island", "Ohio State University"
PLACE_WORDS = {"island", "islands", "city", "county", "state", "river", "lake", "mountain", "mountains", "street",
                "park", "republic", "kingdom", "university", "college", "school", "hall", "theatre", "theater",
                "church", "cathedral", "castle", "bridge", "valley", "sea", "ocean", "bay", "coast", "square",
                "airport", "station", "centre", "center", "museum", "library", "hospital", "province", "region",
                "district", "empire", "union", "house", "palace", "tower", "road", "avenue", "plain", "forest"}
TIME_WORDS = {*WEEKDAYS, "today", "yesterday", "week", "month", "months", "year", "years", "day", "days"}
NOT_NOUNS = {"first", "last", "now", "most", "best", "same", "only", "next", "still", "just", "very", "least",
              "more", "less", "again", "ever", "never", "yet", "already", "be", "been", "was", "were"}
# a phrase that is a time and nothing else: "on Monday", "in 2015", "march 5"
TIME_PHRASE = re.compile(rf"(on |in )?({'|'.join(WEEKDAYS)}|\d{{4}}|{'|'.join(MONTHS)})( \d+)?")
PLACE_PREPOSITIONS = {"in", "at", "to", "from", "into", "near", "across", "inside", "outside"}
TIME_QUESTION = re.compile(r"^\s*(when|what (day|date|time|year|month)|on which day|in which year|how long)\b",
                            re.IGNORECASE)
FRAGMENT = re.compile(r"^\s*(?:(?:and|but)\s+)?(?:what|how)\s+about\s+(?P<x>.+?)\s*\??\s*$|"
                       r"^\s*(?:and|but)\s+(?P<y>[^?]+?)\s*\?\s*$", re.IGNORECASE)
AUX = {"is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "can", "could", "will", "would",
        "should", "may", "might"}


def tokens(text: str) -> list[str]:
    return [t for t in TOKEN.findall(text) if t[:1].isalnum()]


# Words news uses for one another, as a question may say what its article says otherwise ("How many were
# hurt?" of "over 100 more injured"): a weak reading is read again in the passage's word (one group per line)
SAME_SENSE = [frozenset(line.split()) for line in """
hurt injured wounded
killed died
thwarted foiled prevented stopped
detained arrested
""".strip().splitlines()]


def mid_question(text: str) -> str:
    """``text`` with a leading article lower-cased, to stand inside a question: "The mayor" -> "the mayor"."""
    return re.sub(r"^(The|A|An) ", lambda m: m.group(1).lower() + " ", text)
