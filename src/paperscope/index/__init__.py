"""Lexical and vector indexes over the store: built offline, queried by services."""
