"""The store: every SQL statement and the migrations live here. SQLite by default, PostgreSQL too."""
