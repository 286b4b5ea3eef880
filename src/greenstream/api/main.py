"""The ASGI app that ``greenstream serve`` runs (uvicorn ``greenstream.api.main:app``): settings
from the environment; on shutdown the process exits within the shutdown bound."""

from greenstream.api.app import create_app

app = create_app()
app.state.exit_within_s = app.state.settings.shutdown_timeout_s
