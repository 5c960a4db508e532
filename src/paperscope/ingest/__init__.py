"""Ingest: validate, normalise, match and merge source records into the store, idempotently."""
