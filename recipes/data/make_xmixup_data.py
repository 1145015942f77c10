"""Writes the tiny parallel corpora of the X-Mixup recipes and tests (written by the augkit authors).

English source texts with German translations (translate-train) and back-translations into English
(for scheduled sampling); German test texts with English translations (translate-test). Entities in
NER sentences are bracketed: "[PER Anna] lives in [LOC Bonn] ." Kept apart from make_sample_data.py so
the tiny models' training text does not change.
Run: python recipes/data/make_xmixup_data.py
"""
import json
from pathlib import Path

HERE = Path(__file__).parent / "xmixup"

# (English premise, hypothesis, German premise, hypothesis, label, English back-translation or None)
NLI = [
    ("A man is playing a guitar on stage .", "A man is performing music .",
     "Ein Mann spielt auf der Bühne Gitarre .", "Ein Mann macht Musik .", "entailment",
     ("A man plays guitar on the stage .", "A man makes music .")),
    ("A woman is reading a book in the park .", "A woman is sleeping at home .",
     "Eine Frau liest im Park ein Buch .", "Eine Frau schläft zu Hause .", "contradiction",
     ("A woman reads a book in the park .", "A woman sleeps at home .")),
    ("Two children are playing football .", "The children are friends .",
     "Zwei Kinder spielen Fußball .", "Die Kinder sind Freunde .", "neutral",
     ("Two kids play football .", "The children are friends .")),
    ("The cat is sitting on the sofa .", "An animal is on the furniture .",
     "Die Katze sitzt auf dem Sofa .", "Ein Tier ist auf dem Möbelstück .", "entailment",
     ("The cat sits on the sofa .", "An animal is on the piece of furniture .")),
    ("A chef is cooking pasta in a kitchen .", "Nobody is cooking .",
     "Ein Koch kocht Nudeln in der Küche .", "Niemand kocht .", "contradiction",
     ("A cook cooks noodles in the kitchen .", "Nobody cooks .")),
    ("People are waiting for the bus in the rain .", "The bus is late .",
     "Menschen warten im Regen auf den Bus .", "Der Bus ist verspätet .", "neutral",
     ("People wait in the rain for the bus .", "The bus is delayed .")),
    ("A boy rides a bicycle down the street .", "A child is on a bike .",
     "Ein Junge fährt mit dem Fahrrad die Straße entlang .", "Ein Kind ist auf einem Rad .", "entailment", None),
    ("The shop is closed on Sundays .", "The shop is open every day .",
     "Der Laden ist sonntags geschlossen .", "Der Laden ist jeden Tag geöffnet .", "contradiction",
     ("The store is closed on Sundays .", "The store is open every day .")),
    ("A dog runs across the beach .", "The dog is chasing a ball .",
     "Ein Hund rennt über den Strand .", "Der Hund jagt einen Ball .", "neutral", None),
    ("The students are writing an exam .", "Students are taking a test .",
     "Die Studenten schreiben eine Prüfung .", "Studenten legen einen Test ab .", "entailment",
     ("The students write an exam .", "Students take a test .")),
    ("An old man is feeding birds .", "The man is young .",
     "Ein alter Mann füttert Vögel .", "Der Mann ist jung .", "contradiction",
     ("An old man feeds birds .", "The man is young .")),
    ("A group of friends eat dinner together .", "They are celebrating a birthday .",
     "Eine Gruppe von Freunden isst zusammen zu Abend .", "Sie feiern einen Geburtstag .", "neutral", None),
    ("The train arrived at the station on time .", "The train was not late .",
     "Der Zug kam pünktlich am Bahnhof an .", "Der Zug war nicht verspätet .", "entailment", None),
    ("A girl is painting a picture .", "The girl is swimming .",
     "Ein Mädchen malt ein Bild .", "Das Mädchen schwimmt .", "contradiction", None),
    ("Workers are building a new bridge .", "The bridge will open next year .",
     "Arbeiter bauen eine neue Brücke .", "Die Brücke wird nächstes Jahr eröffnet .", "neutral", None),
    ("A woman is singing in a choir .", "A woman is using her voice .",
     "Eine Frau singt in einem Chor .", "Eine Frau benutzt ihre Stimme .", "entailment", None),
    ("The children are sleeping in their beds .", "The children are awake .",
     "Die Kinder schlafen in ihren Betten .", "Die Kinder sind wach .", "contradiction", None),
    ("A man is repairing a car .", "The car was broken .",
     "Ein Mann repariert ein Auto .", "Das Auto war kaputt .", "neutral", None),
    ("Two women are drinking coffee in a cafe .", "Two people are having a drink .",
     "Zwei Frauen trinken Kaffee in einem Café .", "Zwei Menschen trinken etwas .", "entailment", None),
    ("The street is empty at night .", "The street is full of cars .",
     "Die Straße ist nachts leer .", "Die Straße ist voller Autos .", "contradiction", None),
]

# (English sentence, German translation, English back-translation or None); entity brackets as above
NER = [
    ("[PER Angela Merkel] met [PER Emmanuel Macron] in [LOC Berlin] on Monday .",
     "[PER Angela Merkel] traf [PER Emmanuel Macron] am Montag in [LOC Berlin] .",
     "[PER Angela Merkel] met [PER Emmanuel Macron] on Monday in [LOC Berlin] ."),
    ("The [ORG European Union] announced new rules for banks .",
     "Die [ORG Europäische Union] kündigte neue Regeln für Banken an .",
     "The [ORG European Union] announced new rules for banks ."),
    ("[PER John Smith] works for [ORG Microsoft] in [LOC Seattle] .",
     "[PER John Smith] arbeitet für [ORG Microsoft] in [LOC Seattle] .", None),
    ("The [ORG United Nations] held a meeting in [LOC Geneva] .",
     "Die [ORG Vereinten Nationen] hielten eine Sitzung in [LOC Genf] ab .",
     "The [ORG United Nations] held a session in [LOC Geneva] ."),
    ("[PER Maria Garcia] won the race in [LOC Madrid] last year .",
     "[PER Maria Garcia] gewann letztes Jahr das Rennen in [LOC Madrid] .", None),
    ("Shares of [ORG Siemens] rose sharply after the report .",
     "Die Aktien von [ORG Siemens] stiegen nach dem Bericht stark .",
     "The shares of [ORG Siemens] rose strongly after the report ."),
    ("[PER Peter] and [PER Anna] travelled to [LOC Amsterdam] by train .",
     "[PER Peter] und [PER Anna] fuhren mit dem Zug nach [LOC Amsterdam] .", None),
    ("The [MISC German] team beat [LOC Brazil] in the final .",
     "Die [MISC deutsche] Mannschaft schlug [LOC Brasilien] im Finale .",
     "The [MISC German] team beat [LOC Brazil] in the final ."),
    ("[ORG Reuters] reported that the talks had failed .",
     "[ORG Reuters] berichtete , dass die Gespräche gescheitert waren .", None),
    ("The president of [LOC France] spoke at the [ORG World Bank] .",
     "Der Präsident von [LOC Frankreich] sprach bei der [ORG Weltbank] .", None),
    ("[ORG Volkswagen] recalled thousands of cars in [LOC Germany] .",
     "[ORG Volkswagen] rief in [LOC Deutschland] tausende Autos zurück .", None),
    ("[PER Sophie] studies medicine at the [ORG University of Vienna] .",
     "[PER Sophie] studiert Medizin an der [ORG Universität Wien] .", None),
    ("Thousands of people marched through [LOC London] on Saturday .",
     "Tausende Menschen zogen am Samstag durch [LOC London] .", None),
    ("[ORG Bayern Munich] signed a young striker from [LOC Chile] .",
     "[ORG Bayern München] verpflichtete einen jungen Stürmer aus [LOC Chile] .", None),
    ("Police in [LOC Amsterdam] arrested two men .",
     "Die Polizei in [LOC Amsterdam] nahm zwei Männer fest .", None),
    ("[PER Mark Rutte] spoke with reporters in [LOC The Hague] .",
     "[PER Mark Rutte] sprach mit Reportern in [LOC Den Haag] .", None),
    ("The minister met farmers in [LOC Bavaria] .",
     "Der Minister traf Landwirte in [LOC Bayern] .", None),
    ("[ORG Airbus] delivered fewer planes than expected .",
     "[ORG Airbus] lieferte weniger Flugzeuge als erwartet .", None),
    ("Snow closed several roads near [LOC Oslo] .",
     "Schnee sperrte mehrere Straßen bei [LOC Oslo] .", None),
    ("[PER Laura] gave a speech at the [ORG Red Cross] conference .",
     "[PER Laura] hielt eine Rede auf der Konferenz des [ORG Roten Kreuzes] .", None),
]

# English and German SQuAD-style examples: (question, context, answer) per language
QA = [
    (("Where does Anna live ?", "Anna lives in Bonn with her two sisters .", "Bonn"),
     ("Wo wohnt Anna ?", "Anna wohnt mit ihren zwei Schwestern in Bonn .", "Bonn")),
    (("Who won the race ?", "The race in Madrid was won by Maria last year .", "Maria"),
     ("Wer gewann das Rennen ?", "Das Rennen in Madrid gewann letztes Jahr Maria .", "Maria")),
    (("What did Siemens announce ?", "Siemens announced a new factory in Berlin on Monday .", "a new factory"),
     ("Was kündigte Siemens an ?", "Siemens kündigte am Montag eine neue Fabrik in Berlin an .", "eine neue Fabrik")),
    (("When did the museum reopen ?", "The museum in Dresden reopened after two years .", "after two years"),
     ("Wann öffnete das Museum wieder ?", "Das Museum in Dresden öffnete nach zwei Jahren wieder .", "nach zwei Jahren")),
    (("Who met Macron ?", "Angela Merkel met Emmanuel Macron in Berlin .", "Angela Merkel"),
     ("Wer traf Macron ?", "Angela Merkel traf Emmanuel Macron in Berlin .", "Angela Merkel")),
    (("Where do the children play ?", "The children play football in the park every day .", "in the park"),
     ("Wo spielen die Kinder ?", "Die Kinder spielen jeden Tag im Park Fußball .", "im Park")),
    (("What does Sophie study ?", "Sophie studies medicine at the University of Vienna .", "medicine"),
     ("Was studiert Sophie ?", "Sophie studiert Medizin an der Universität Wien .", "Medizin")),
    (("How many men were arrested ?", "Police in Amsterdam arrested two men on Friday .", "two men"),
     ("Wie viele Männer wurden festgenommen ?", "Die Polizei in Amsterdam nahm am Freitag zwei Männer fest .", "zwei Männer")),
    (("Which city did Peter visit ?", "Peter travelled to Amsterdam by train .", "Amsterdam"),
     ("Welche Stadt besuchte Peter ?", "Peter fuhr mit dem Zug nach Amsterdam .", "Amsterdam")),
    (("What closed the roads ?", "Snow closed several roads near Oslo .", "Snow"),
     ("Was sperrte die Straßen ?", "Schnee sperrte mehrere Straßen bei Oslo .", "Schnee")),
    (("Who gave a speech ?", "Laura gave a speech at the conference .", "Laura"),
     ("Wer hielt eine Rede ?", "Laura hielt eine Rede auf der Konferenz .", "Laura")),
    (("What did the farmers meet ?", "The farmers met the minister in Bavaria .", "the minister"),
     ("Wen trafen die Landwirte ?", "Die Landwirte trafen den Minister in Bayern .", "den Minister")),
]


def bracketed(text: str) -> tuple[list[str], list[str]]:
    words, tags, typ, first = [], [], None, False
    for tok in text.split():
        if tok.startswith("[") and typ is None:
            typ, first = tok[1:], True
            continue
        closing = tok.endswith("]") and typ is not None
        word = tok[:-1] if closing else tok
        tags.append(("B-" if first else "I-") + typ if typ else "O")
        first = False
        words.append(word)
        if closing:
            typ = None
    return words, tags


def qa_side(q):
    question, context, answer = q
    return {"question": question, "context": context, "answers": [{"text": answer, "start": context.index(answer)}]}


def write(name: str, rows: list[dict]) -> None:
    (HERE / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    # classification: 12 translate-train pairs, 4 translate-test dev and 4 test pairs (German text + English)
    train, dev, test = NLI[:12], NLI[12:16], NLI[16:]
    rows = []
    for k, (ea, eb, da, db, label, back) in enumerate(train):
        row = {"id": f"nli-{k}", "label": label, "source": {"text_a": ea, "text_b": eb},
               "target": {"text_a": da, "text_b": db}}
        if back:
            row["back"] = {"text_a": back[0], "text_b": back[1]}
        rows.append(row)
    write("nli.en-de.train.jsonl", rows)
    for name, part in (("dev", dev), ("test", test)):
        lines = ["id\tlabel\ttarget_a\ttarget_b\tsource_a\tsource_b"]
        lines += [f"nli-{name}-{k}\t{label}\t{da}\t{db}\t{ea}\t{eb}" for k, (ea, eb, da, db, label, _) in enumerate(part)]
        (HERE / f"nli.de-en.{name}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # tagging: 12 translate-train pairs (TSV), 4 dev and 4 test translate-test pairs (JSON Lines)
    train, dev, test = NER[:12], NER[12:16], NER[16:]
    lines = ["id\tsource_tokens\tsource_tags\ttarget_tokens\tback_tokens"]
    for k, (en, de, back) in enumerate(train):
        (ew, et), (dw, _) = bracketed(en), bracketed(de)
        bw = bracketed(back)[0] if back else []
        lines.append(f"ner-{k}\t{' '.join(ew)}\t{' '.join(et)}\t{' '.join(dw)}\t{' '.join(bw)}")
    (HERE / "ner.en-de.train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, part in (("dev", dev), ("test", test)):
        rows = []
        for k, (en, de, _) in enumerate(part):
            (ew, _), (dw, dt) = bracketed(en), bracketed(de)
            rows.append({"id": f"ner-{name}-{k}", "source": {"tokens": ew}, "target": {"tokens": dw, "tags": dt}})
        write(f"ner.de-en.{name}.jsonl", rows)
    # QA: 8 translate-train pairs, 2 dev and 2 test translate-test pairs
    train, dev, test = QA[:8], QA[8:10], QA[10:]
    write("qa.en-de.train.jsonl", [{"id": f"qa-{k}", "source": qa_side(en), "target": qa_side(de)}
                                   for k, (en, de) in enumerate(train)])
    for name, part in (("dev", dev), ("test", test)):
        write(f"qa.de-en.{name}.jsonl", [{"id": f"qa-{name}-{k}", "source": {"question": en[0], "context": en[1]},
                                          "target": qa_side(de)} for k, (en, de) in enumerate(part)])
