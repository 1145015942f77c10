"""The source language's words: content words with the few features the grammar needs, function words,
and the gazetteers of names. Target languages derive their words from these (``language.py``)."""
from __future__ import annotations

# noun -> (plural, hypernym or None)
NOUNS = {
    "car": ("cars", "vehicle"), "truck": ("trucks", "vehicle"), "bicycle": ("bicycles", "vehicle"),
    "dog": ("dogs", "animal"), "horse": ("horses", "animal"), "cat": ("cats", "animal"),
    "book": ("books", "text"), "letter": ("letters", "text"), "report": ("reports", "text"),
    "house": ("houses", "building"), "school": ("schools", "building"), "hospital": ("hospitals", "building"),
    "apple": ("apples", "food"), "bread": ("breads", "food"), "cake": ("cakes", "food"),
    "guitar": ("guitars", "instrument"), "piano": ("pianos", "instrument"), "violin": ("violins", "instrument"),
    "doctor": ("doctors", "person"), "teacher": ("teachers", "person"), "farmer": ("farmers", "person"),
    "singer": ("singers", "person"), "student": ("students", "person"), "driver": ("drivers", "person"),
    "vehicle": ("vehicles", None), "animal": ("animals", None), "text": ("texts", None),
    "building": ("buildings", None), "food": ("foods", None), "instrument": ("instruments", None),
    "person": ("people", None),
}
THINGS = [n for n, (_, h) in NOUNS.items() if h not in (None, "person")]
PEOPLE = [n for n, (_, h) in NOUNS.items() if h == "person"]

# adjective -> antonym
ADJECTIVES = {"big": "small", "small": "big", "new": "old", "old": "new", "red": "blue", "blue": "red",
              "cheap": "expensive", "expensive": "cheap", "happy": "sad", "sad": "happy", "fast": "slow",
              "slow": "fast", "young": "elderly", "elderly": "young"}
THING_ADJECTIVES = ["big", "small", "new", "old", "red", "blue", "cheap", "expensive", "fast", "slow"]
PERSON_ADJECTIVES = ["happy", "sad", "young", "elderly"]

# verb -> (past form, what its object may be)
VERBS = {
    "bought": ("thing",), "sold": ("thing",), "found": ("thing",), "painted": ("thing",), "repaired": ("thing",),
    "visited": ("LOC", "PER", "person"), "left": ("LOC", "ORG"), "joined": ("ORG",), "founded": ("ORG",),
    "met": ("PER", "person"), "called": ("PER", "ORG", "person"), "helped": ("PER", "person", "ORG"),
    "thanked": ("PER", "person"), "praised": ("PER", "ORG", "person"),
}
# the base form after "did not"
VERB_BASE = {"bought": "buy", "sold": "sell", "found": "find", "painted": "paint", "repaired": "repair",
             "visited": "visit", "left": "leave", "joined": "join", "founded": "found", "met": "meet",
             "called": "call", "helped": "help", "thanked": "thank", "praised": "praise"}
# verbs whose subject is a person or an organisation and the words that introduce an ORG
ORG_HEADS = ["Bank", "Motors", "United", "Airlines", "Institute", "Group"]
MISC_NAMES = [["Olympic", "Games"], ["World", "Cup"], ["Nobel", "Prize"], ["Film", "Festival"],
              ["Book", "Fair"], ["Science", "Award"]]
# prepositional phrases: preposition -> what follows it
PREPOSITIONS = {"in": ("LOC",), "for": ("ORG", "PER"), "with": ("PER", "person"), "at": ("MISC",),
                "near": ("LOC",)}
TIMES = [["yesterday"], ["today"], ["last", "year"], ["in", "NUM"]]
FUNCTION = ["the", "a", "did", "not", "of", "."]

FIRST_NAMES = ["Anna", "Peter", "Maria", "John", "Laura", "David", "Sofia", "Martin", "Elena", "Thomas", "Clara",
               "Lucas", "Nina", "Oscar", "Julia", "Victor", "Helena", "Samuel", "Irene", "Hugo", "Jordan",
               "Florence", "Georgia", "Sydney", "Paris", "Chad", "Austin", "Victoria"]
LAST_NAMES = ["Smith", "Garcia", "Miller", "Novak", "Rossi", "Weber", "Silva", "Kowalski", "Dubois", "Jensen",
              "Ivanov", "Costa", "Fischer", "Moreau", "Larsen", "Brown", "Santos", "Horvat", "Keller", "Nagy"]
PLACES = ["Berlin", "Madrid", "Cairo", "Lima", "Oslo", "Vienna", "Dublin", "Lisbon", "Prague", "Tokyo", "Nairobi",
          "Quito", "Warsaw", "Athens", "Manila", "Jordan", "Florence", "Georgia", "Sydney", "Paris", "Chad",
          "Austin", "Victoria", "Brazil", "Canada", "Egypt", "Norway", "Peru", "Kenya"]
