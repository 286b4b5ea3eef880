"""HTTP API (FastAPI): platform endpoints and PACT v2.3 / iLEAP v1.0 data exchange.

``greenstream.api.app.create_app(settings)`` builds the application; see docs/platform.md.
"""
