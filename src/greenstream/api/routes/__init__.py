"""Routers of the platform API (thin: parse, call the store / kernel, render)."""
