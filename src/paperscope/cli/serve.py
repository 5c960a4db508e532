"""`paperscope serve`: the web pages and the JSON API over the configured store (uvicorn).

The app is built by a factory that takes the settings this command read (`app_for_settings`), so
no worker re-reads the environment. The signing secret is resolved here first, so that all workers
share it (CSRF tokens, session cookies, email links).

With one worker, uvicorn runs the app in this process. With several, gunicorn's arbiter forks
uvicorn workers (`uvicorn_worker.UvicornWorker`) from this process after it has opened the semantic
index (`search.preload_vectors`) and imported the libraries the workers search with
(`search.preload_libraries`): the workers inherit that memory copy-on-write instead of each loading
its own copy (the index is the largest thing a worker holds: about 1.2 GiB at a million papers).
Each worker then builds its own runtime (engine, connection pools, keyword index, query encoder).
gunicorn also restarts a worker that dies or stops answering, and stops them gracefully on SIGTERM.
"""

from __future__ import annotations

import os
from collections.abc import Callable
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

    runtime = runtime_or_exit()  # fails early, naming the URL, when the store cannot be opened
    runtime.mail  # noqa: B018 — resolves (and if need be creates) the signing secret every worker reads
    settings = runtime.settings
    workers = workers or default_workers()
    console.print(f"paperscope: serving {settings.database_url} on http://{host}:{port}/ "
                  f"with {workers} worker{'s' if workers > 1 else ''}", highlight=False)
    factory = partial(import_from_string(FACTORY), settings)
    if workers == 1:
        uvicorn.Server(uvicorn.Config(factory, factory=True, host=host, port=port, log_level=log_level,
                                      proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips)).run()
        return
    runtime.close()  # the workers open their own engines: no connection crosses the fork
    from paperscope.services import search

    search.preload_vectors(settings.data_dir)
    search.preload_libraries()
    _forking_server(factory, {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "uvicorn_worker.UvicornWorker",
        "loglevel": log_level,
        "forwarded_allow_ips": forwarded_allow_ips,
        "timeout": 120,  # a worker silent this long (a first fit, an index reopened at 2.7M) is restarted
        "graceful_timeout": 30,
        "accesslog": None,
    }).run()


def _forking_server(factory: Callable[[], object], options: dict[str, object]):  # type: ignore[no-untyped-def]
    """gunicorn's arbiter with the options given here (never sys.argv) and the app from `factory`,
    called in each worker after the fork."""
    from gunicorn.app.base import BaseApplication

    class ForkingServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> object:
            return factory()

    return ForkingServer()
