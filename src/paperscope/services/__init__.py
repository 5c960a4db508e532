"""Use cases shared by the CLI, the web pages, the JSON API and the digests."""
