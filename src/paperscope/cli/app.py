"""The whole `paperscope` command: the application of cli.base with every sub-command registered
(each module registers its commands on import)."""

from __future__ import annotations

from paperscope.cli import (  # noqa: E402,F401,I001
    admin,
    authors,
    build,
    digests,
    embed,
    enrich,
    ingest,
    papers,
    scores,
    search,
    serve,
)
from paperscope.cli.base import (  # noqa: F401
    _Process,
    app,
    console,
    date_option,
    err_console,
    fail,
    runtime_or_exit,
    settings_or_exit,
)
