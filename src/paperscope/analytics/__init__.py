"""Metrics and scores computed from the store (citations, h-index, novelty, AI Score)."""
