"""`app()` for uvicorn's --factory (several workers): settings from the environment."""

from __future__ import annotations

import os

from fastapi import FastAPI

from paperscope.core.settings import load_settings
from paperscope.web.app import create_app


def app() -> FastAPI:
    return create_app(load_settings(), secret_key=os.environ.get("PAPERSCOPE_SECRET_KEY") or None)
