"""`paperscope serve`: the web pages and the JSON API over the configured store (uvicorn)."""

from __future__ import annotations

import os

import typer

from paperscope.cli.app import app, console, settings_or_exit, store_or_exit

SECRET_ENV = "PAPERSCOPE_SECRET_KEY"
FACTORY = "paperscope.web.factory:app"


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes (each opens the store)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve Daily Papers, author and paper pages, search and /api/v1 (OpenAPI at /api/v1/openapi.json)."""
    import uvicorn

    settings = settings_or_exit()
    store_or_exit(settings).dispose()  # fail early, with the URL, when the store cannot be opened
    if workers > 1 and not os.environ.get(SECRET_ENV):
        console.print(f"note: set {SECRET_ENV} so that the workers share one CSRF secret", highlight=False)
    console.print(f"paperscope: serving {settings.database_url} on http://{host}:{port}/", highlight=False)
    # The CLI and the web app are sibling layers: uvicorn loads the app by name (web/factory.py).
    uvicorn.run(FACTORY, factory=True, host=host, port=port, workers=workers, log_level=log_level)
