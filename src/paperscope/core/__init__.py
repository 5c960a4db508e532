"""Shared vocabulary of every layer: normalised records, ids, category tags, code links, settings."""
