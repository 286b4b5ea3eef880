"""ASGI entry point for ``uvicorn greenstream.api.main:app`` (settings from the environment)."""

from greenstream.api.app import create_app

app = create_app()
