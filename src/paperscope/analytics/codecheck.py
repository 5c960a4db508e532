"""How well code links found in the text alone agree with the `Code` badges of listing cards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paperscope.core.codelinks import extract_code_urls


def compute_code_detection(cards: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Precision and recall of "the abstract has a code link" against each card's badge.

    `cards`: rows with id, title, abstract and code_badge (True/False)."""
    tp = fp = fn = tn = 0
    missed: list[dict[str, Any]] = []
    wrong: list[dict[str, Any]] = []
    for card in cards:
        urls = extract_code_urls(card.get("abstract"))
        badge = bool(card["code_badge"])
        if urls and badge:
            tp += 1
        elif urls:
            fp += 1
            wrong.append({"id": card["id"], "title": card["title"], "urls": urls})
        elif badge:
            fn += 1
            missed.append({"id": card["id"], "title": card["title"]})
        else:
            tn += 1
    return {
        "cards": len(cards),
        "badges": tp + fn,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "true_negatives": tn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "missed": missed,
        "false_alarms": wrong,
    }
