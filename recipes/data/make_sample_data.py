"""Writes augkit's sample corpora (written by the augkit authors for demos and tests).

NER sentences use brackets for entities: "[PER Angela Merkel] visited [LOC Paris] ." becomes IOB2 CoNLL.
Run: python recipes/data/make_sample_data.py
"""
from pathlib import Path

HERE = Path(__file__).parent

NER = {
"en": """[PER Angela Merkel] met [PER Emmanuel Macron] in [LOC Berlin] on Monday .
The [ORG European Union] announced new rules for banks .
[PER John Smith] works for [ORG Microsoft] in [LOC Seattle] .
[LOC Spain] and [LOC Portugal] signed a trade agreement .
The [ORG United Nations] held a meeting in [LOC Geneva] .
[PER Maria Garcia] won the race in [LOC Madrid] last year .
Shares of [ORG Siemens] rose sharply after the report .
[PER Peter] and [PER Anna] travelled to [LOC Amsterdam] by train .
The [MISC German] team beat [LOC Brazil] in the final .
[ORG Reuters] reported that the talks had failed .
The president of [LOC France] spoke at the [ORG World Bank] .
[PER Lionel Messi] scored twice for [ORG Barcelona] .
Rain is expected across [LOC northern England] tomorrow .
[PER Tom Hanks] starred in a new film about [LOC New York] .
The [MISC Olympic] games will be held in [LOC Tokyo] .
[ORG Volkswagen] recalled thousands of cars in [LOC Germany] .
Officials in [LOC Cairo] said the border would reopen .
[PER Sophie] studies medicine at the [ORG University of Vienna] .
The [MISC Dutch] government approved the budget .
[PER Pedro Sanchez] called for new elections in [LOC Spain] .
Prices of oil fell on [ORG Wall Street] on Friday .
The river flows from [LOC Switzerland] to [LOC the Netherlands] .
[ORG Nokia] opened a new office in [LOC Helsinki] .
[PER Ahmed] moved to [LOC Dubai] to work for [ORG Emirates] .
The [MISC Finnish] parliament voted against the plan .
Thousands of people marched through [LOC London] on Saturday .
[PER Ursula von der Leyen] visited [LOC Warsaw] this week .
The company said profits would rise next year .
[ORG Bayern Munich] signed a young striker from [LOC Chile] .
The museum in [LOC Rotterdam] reopened after two years .
[PER Carlos] lives in [LOC Seville] with his family .
Police in [LOC Amsterdam] arrested two men .
[ORG Airbus] delivered fewer planes than expected .
The [MISC Arabic] edition of the book sold well .
[PER Laura] gave a speech at the [ORG Red Cross] conference .
Snow closed several roads near [LOC Oslo] .
The minister met farmers in [LOC Bavaria] .
[PER Mark Rutte] spoke with reporters in [LOC The Hague] .
[ORG Ericsson] cut jobs in [LOC Sweden] and [LOC Finland] .
The [MISC Spanish] league starts in August .""",
"de": """[PER Angela Merkel] traf [PER Emmanuel Macron] am Montag in [LOC Berlin] .
Die [ORG Europäische Union] kündigte neue Regeln für Banken an .
[PER Hans Müller] arbeitet für [ORG Siemens] in [LOC München] .
Der Zug von [LOC Hamburg] nach [LOC Köln] war verspätet .
Die [ORG Vereinten Nationen] tagten in [LOC Genf] .
[PER Anna Schmidt] gewann das Rennen in [LOC Wien] .
Die Aktien von [ORG Volkswagen] stiegen nach dem Bericht .
[PER Peter] und [PER Julia] fuhren mit dem Zug nach [LOC Amsterdam] .
Die [MISC deutsche] Mannschaft schlug [LOC Brasilien] im Finale .
Der Präsident von [LOC Frankreich] sprach in [LOC Brüssel] .
Morgen wird in [LOC Norddeutschland] Regen erwartet .
[ORG Bayern München] verpflichtete einen jungen Stürmer .
Der Rhein fließt von der [LOC Schweiz] in die [LOC Niederlande] .
Die Polizei in [LOC Frankfurt] nahm zwei Männer fest .
[PER Thomas] studiert Medizin an der [ORG Universität Heidelberg] .
Die [MISC österreichische] Regierung billigte den Haushalt .
Tausende Menschen demonstrierten am Samstag in [LOC Leipzig] .
Das Museum in [LOC Dresden] öffnete nach zwei Jahren wieder .
[ORG Lufthansa] strich viele Flüge nach [LOC London] .
Der Minister besuchte Landwirte in [LOC Bayern] .
[PER Olaf Scholz] sprach mit Journalisten in [LOC Stuttgart] .
Die Firma erwartet im nächsten Jahr höhere Gewinne .
[PER Sabine] lebt mit ihrer Familie in [LOC Bremen] .
Schnee sperrte mehrere Straßen bei [LOC Innsbruck] .""",
"es": """[PER Pedro Sánchez] se reunió con [PER Emmanuel Macron] en [LOC Madrid] .
La [ORG Unión Europea] anunció nuevas normas para los bancos .
[PER María García] trabaja para [ORG Telefónica] en [LOC Barcelona] .
El tren de [LOC Sevilla] a [LOC Valencia] llegó tarde .
Las [ORG Naciones Unidas] celebraron una reunión en [LOC Ginebra] .
[PER Carlos Ruiz] ganó la carrera en [LOC Bilbao] el año pasado .
Las acciones de [ORG Iberdrola] subieron tras el informe .
[PER Lucía] y [PER Javier] viajaron a [LOC Lisboa] en tren .
La selección [MISC española] venció a [LOC Italia] en la final .
El presidente de [LOC Francia] habló en [LOC Bruselas] .
Se espera lluvia en el norte de [LOC España] mañana .
[PER Lionel Messi] marcó dos goles para el [ORG Barcelona] .
La policía de [LOC Málaga] detuvo a dos hombres .
[PER Ana] estudia medicina en la [ORG Universidad de Salamanca] .
El gobierno [MISC mexicano] aprobó el presupuesto .
Miles de personas marcharon por [LOC Buenos Aires] el sábado .
El museo de [LOC Bilbao] reabrió después de dos años .
[ORG Repsol] abrió una nueva oficina en [LOC México] .
El ministro visitó a los agricultores en [LOC Andalucía] .
La empresa espera mayores beneficios el próximo año .
[PER Isabel] vive con su familia en [LOC Granada] .
La nieve cerró varias carreteras cerca de [LOC Huesca] .
[ORG Real Madrid] fichó a un joven delantero de [LOC Chile] .
Los precios del petróleo bajaron en [ORG Wall Street] el viernes .""",
}

NLI = {
"en": [("A man is playing a guitar on stage .", "A man is performing music .", "entailment"),
("A woman is reading a book in the park .", "A woman is sleeping at home .", "contradiction"),
("Two children are playing football .", "The children are friends .", "neutral"),
("The cat is sitting on the sofa .", "An animal is on the furniture .", "entailment"),
("A chef is cooking pasta in a kitchen .", "Nobody is cooking .", "contradiction"),
("People are waiting for the bus in the rain .", "The bus is late .", "neutral"),
("A boy rides a bicycle down the street .", "A child is on a bike .", "entailment"),
("The shop is closed on Sundays .", "The shop is open every day .", "contradiction"),
("A dog runs across the beach .", "The dog is chasing a ball .", "neutral"),
("The students are writing an exam .", "Students are taking a test .", "entailment"),
("An old man is feeding birds .", "The man is young .", "contradiction"),
("A group of friends eat dinner together .", "They are celebrating a birthday .", "neutral"),
("The train arrived at the station on time .", "The train was not late .", "entailment"),
("A girl is painting a picture .", "The girl is swimming .", "contradiction"),
("Workers are building a new bridge .", "The bridge will open next year .", "neutral"),
("A woman is singing in a choir .", "A woman is using her voice .", "entailment")],
"de": [("Ein Mann spielt auf der Bühne Gitarre .", "Ein Mann macht Musik .", "entailment"),
("Eine Frau liest im Park ein Buch .", "Eine Frau schläft zu Hause .", "contradiction"),
("Zwei Kinder spielen Fußball .", "Die Kinder sind Freunde .", "neutral"),
("Die Katze sitzt auf dem Sofa .", "Ein Tier ist auf dem Möbelstück .", "entailment"),
("Ein Koch kocht Nudeln in der Küche .", "Niemand kocht .", "contradiction"),
("Menschen warten im Regen auf den Bus .", "Der Bus ist verspätet .", "neutral"),
("Ein Junge fährt mit dem Fahrrad die Straße entlang .", "Ein Kind ist auf einem Rad .", "entailment"),
("Der Laden ist sonntags geschlossen .", "Der Laden ist jeden Tag geöffnet .", "contradiction"),
("Ein Hund rennt über den Strand .", "Der Hund jagt einen Ball .", "neutral"),
("Die Studenten schreiben eine Prüfung .", "Studenten legen einen Test ab .", "entailment"),
("Ein alter Mann füttert Vögel .", "Der Mann ist jung .", "contradiction"),
("Eine Gruppe von Freunden isst zusammen zu Abend .", "Sie feiern einen Geburtstag .", "neutral")],
}


def ner_to_conll(text: str) -> str:
    out = []
    for line in text.strip().splitlines():
        words, tags, typ, first = [], [], None, False
        for tok in line.split():
            if tok.startswith("["):
                typ, first = tok[1:], True
                continue
            closing = tok.endswith("]") and typ is not None
            word = tok[:-1] if closing else tok
            if typ:
                tags.append(("B-" if first else "I-") + typ)
                first = False
            else:
                tags.append("O")
            words.append(word)
            if closing:
                typ = None
        out.extend(f"{w} {t}" for w, t in zip(words, tags))
        out.append("")
    return "\n".join(out)


def split(lines, n_dev, n_test):
    return lines[: len(lines) - n_dev - n_test], lines[len(lines) - n_dev - n_test: len(lines) - n_test], lines[len(lines) - n_test:]


if __name__ == "__main__":
    for lang, text in NER.items():
        lines = text.strip().splitlines()
        train, dev, test = split(lines, 6, 6)
        for name, part in (("train", train), ("dev", dev), ("test", test)):
            (HERE / f"ner.{lang}.{name}.conll").write_text(ner_to_conll("\n".join(part)) + "\n", encoding="utf-8")
    for lang, rows in NLI.items():
        train, dev, test = split(rows, 4, 4)
        for name, part in (("train", train), ("dev", dev), ("test", test)):
            body = "\n".join("\t".join(r) for r in part)
            (HERE / f"nli.{lang}.{name}.tsv").write_text("premise\thypothesis\tlabel\n" + body + "\n", encoding="utf-8")
    # text for the tiny demo/test models: every sentence above, one per line
    lines = [" ".join(w.strip("[]") for w in l.split() if not (w.startswith("[") and w[1:].isupper()))
             for text in NER.values() for l in text.strip().splitlines()]
    lines += [t for rows in NLI.values() for r in rows for t in r[:2]]
    (HERE.parent.parent / "augkit" / "resources" / "tiny_corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
