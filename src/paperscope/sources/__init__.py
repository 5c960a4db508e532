"""Source adapters: fetch and parse, yielding normalised records. They never touch the database."""
