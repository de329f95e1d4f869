"""The French regions as they were in 2008-2012 (before the 2016 merger), with their INSEE codes.

A region's code is what ``region:<code>`` roles name, e.g. ``region:82`` for Rhône-Alpes.
"""

REGION_CODES: dict[str, str] = {
    "Île-de-France": "11",
    "Champagne-Ardenne": "21",
    "Picardie": "22",
    "Haute-Normandie": "23",
    "Centre": "24",
    "Basse-Normandie": "25",
    "Bourgogne": "26",
    "Nord-Pas-de-Calais": "31",
    "Lorraine": "41",
    "Alsace": "42",
    "Franche-Comté": "43",
    "Pays de la Loire": "52",
    "Bretagne": "53",
    "Poitou-Charentes": "54",
    "Aquitaine": "72",
    "Midi-Pyrénées": "73",
    "Limousin": "74",
    "Rhône-Alpes": "82",
    "Auvergne": "83",
    "Languedoc-Roussillon": "91",
    "Provence-Alpes-Côte d'Azur": "93",
    "Corse": "94",
    "La Réunion": "04",
}

REGION_NAMES: dict[str, str] = {code: name for name, code in REGION_CODES.items()}
