"""arXiv categories mapped to the short tags users see on cards (cs.LG -> LG).

One table, documented in docs/categories.md. Categories outside it keep a tag built from their
subject class (math.OC -> OC, hep-th -> HEP-TH) so nothing is dropped.
"""

from __future__ import annotations

SHORT_TAGS: dict[str, str] = {
    "cs.LG": "LG",
    "cs.CV": "CV",
    "cs.CL": "CL",
    "cs.AI": "AI",
    "cs.CR": "CR",
    "cs.MM": "MM",
    "cs.IR": "IR",
    "cs.NE": "NE",
    "cs.RO": "RO",
    "cs.SD": "SD",
    "cs.HC": "HC",
    "cs.DC": "DC",
    "cs.DB": "DB",
    "cs.DS": "DS",
    "cs.GT": "GT",
    "cs.IT": "IT",
    "cs.MA": "MA",
    "cs.SE": "SE",
    "cs.SI": "SI",
    "cs.CY": "CY",
    "cs.GR": "GR",
    "cs.NI": "NI",
    "cs.PL": "PL",
    "cs.LO": "LO",
    "cs.CC": "CC",
    "cs.CG": "CG",
    "cs.DL": "DL",
    "cs.SY": "SY",
    "eess.SY": "SY",
    "stat.ML": "ML",
    "stat.ME": "ME",
    "stat.TH": "TH",
    "stat.AP": "AP",
    "stat.CO": "CO",
    "eess.IV": "IV",
    "eess.AS": "AS",
    "eess.SP": "SP",
    "math.OC": "OC",
    "math.ST": "ST",
    "math.PR": "PR",
    "math.NA": "NA",
    "q-bio.NC": "NC",
    "q-bio.QM": "QM",
    "quant-ph": "QUANT-PH",
    "physics.comp-ph": "COMP-PH",
    "cond-mat.dis-nn": "DIS-NN",
    "astro-ph": "ASTRO-PH",
    "hep-th": "HEP-TH",
    "hep-ph": "HEP-PH",
    "hep-ex": "HEP-EX",
    "hep-lat": "HEP-LAT",
    "gr-qc": "GR-QC",
}

KNOWN_TAGS = frozenset(SHORT_TAGS.values())


def short_tag(category: str | None) -> str | None:
    """The card tag of a source category; a value that already is a tag is returned as it is."""
    if not category:
        return None
    category = category.strip()
    if category in SHORT_TAGS:
        return SHORT_TAGS[category]
    if category.isupper() and "." not in category:
        return category  # already a short tag, as listings show them
    subject = category.split(".", 1)[1] if "." in category else category
    return subject.upper()
