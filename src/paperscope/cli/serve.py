"""`paperscope serve`: the web pages and the JSON API over the configured store (uvicorn).

uvicorn gets a factory that takes the settings this command read (`app_for_settings`, bound with
functools.partial): with one worker it runs in this process; with several, uvicorn starts each
worker process with that factory (pickled), so every worker builds its own runtime (engine,
indexes) from the same settings and none re-reads the environment. The signing secret is resolved
here first, so that all workers share it (CSRF tokens, session cookies, email links).
"""

from __future__ import annotations

import os
from functools import partial

import typer

from paperscope.cli.base import app, console, runtime_or_exit

# The CLI and the web app are sibling layers: the factory is named, and uvicorn imports it.
FACTORY = "paperscope.web.app:app_for_settings"


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port to listen on."),
    workers: int = typer.Option(None, min=1, help="Worker processes (default: one per core)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    forwarded_allow_ips: str = typer.Option(
        "127.0.0.1", help="Reverse proxies (comma-separated addresses, or *) whose X-Forwarded-For and "
        "X-Forwarded-Proto headers are believed: the client's address and https as the proxy saw them."),
) -> None:
    """Serve Daily Papers, author and paper pages, search and /api/v1 (OpenAPI at /api/v1/openapi.json)."""
    import uvicorn
    from uvicorn.importer import import_from_string
    from uvicorn.supervisors import Multiprocess

    runtime = runtime_or_exit()  # fails early, naming the URL, when the store cannot be opened
    runtime.mail  # noqa: B018 — resolves (and if need be creates) the signing secret every worker reads
    settings = runtime.settings
    workers = workers or default_workers()
    console.print(f"paperscope: serving {settings.database_url} on http://{host}:{port}/ "
                  f"with {workers} worker{'s' if workers > 1 else ''}", highlight=False)
    factory = partial(import_from_string(FACTORY), settings)
    config = uvicorn.Config(factory, factory=True, host=host, port=port, workers=workers,
                            log_level=log_level, proxy_headers=True,
                            forwarded_allow_ips=forwarded_allow_ips,
                            # a worker imports the app before it answers the supervisor's pings
                            timeout_worker_healthcheck=60)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    runtime.close()  # the workers open their own engines
    Multiprocess(config, sockets=[config.bind_socket()]).run()
