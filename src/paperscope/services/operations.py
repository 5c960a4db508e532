"""What operators watch on a running deployment (docs/deploy.md): each embedder generation (which is
active, how far its backfill is), which index snapshot this web process serves, and which process answered."""

from __future__ import annotations

import os
import socket
from typing import Any

from paperscope.services.embeddings import status as generations_status
from paperscope.services.runtime import Runtime


def operations_status(runtime: Runtime) -> dict[str, Any]:
    """Backfill progress per embedder (from the store), the indexes this process serves, and its host
    and pid (behind a proxy, each replica answers for itself)."""
    return {
        "process": {"host": socket.gethostname(), "pid": os.getpid()},
        "embeddings": generations_status(runtime.engine),
        "indexes": runtime.index_status(),
    }
