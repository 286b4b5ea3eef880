"""Optional extras: which ``pip install greenstream[...]`` brings the libraries a command needs.

``pip install greenstream`` installs the core (accounting kernel, factors, geo, io, store on
SQLite, the CLI). The HTTP service, telemetry monitoring, the reduction levers and the reports
import libraries of their own, declared as extras in ``pyproject.toml``. A command run without
its extra stops with :func:`missing_extra_message` instead of a traceback.
"""

from __future__ import annotations

from typing import Final

# top-level command of the CLI -> the extra it needs
COMMAND_EXTRAS: Final[dict[str, str]] = {
    "serve": "service",
    "users": "service",
    "monitor": "monitoring",
    "trace": "monitoring",
    "intensities": "monitoring",
    "route": "routing",
    "plan": "routing",
    "energy": "energy",
    "pack": "packaging",
    "forecast": "analytics",
    "placement": "analytics",
    "report": "reports",
    "links": "reports",
    "scale": "scale",
}

# importable top-level module -> the extra that installs it (first extra that lists it)
MODULE_EXTRAS: Final[dict[str, str]] = {
    "fastapi": "service",
    "starlette": "service",
    "uvicorn": "service",
    "httptools": "service",
    "uvloop": "service",
    "multipart": "service",
    "python_multipart": "service",
    "httpx": "service",
    "argon2": "service",
    "limits": "service",
    "jwt": "service",
    "redis": "service",
    "duckdb": "service",
    "psycopg": "postgres",
    "pgpq": "postgres",
    "paho": "monitoring",
    "nats": "monitoring",
    "polars_h3": "monitoring",
    "h3ronpy": "monitoring",
    "polars_hash": "monitoring",
    "global_land_mask": "monitoring",
    "highspy": "routing",
    "scipy": "routing",
    "pvlib": "energy",
    "holidays": "energy",
    "yaml": "energy",
    "fastjsonschema": "packaging",
    "packingsolver3d": "packaging",
    "lightgbm": "analytics",
    "mlforecast": "analytics",
    "statsforecast": "analytics",
    "hierarchicalforecast": "analytics",
    "utilsforecast": "analytics",
    "chinese_calendar": "analytics",
    "typst": "reports",
    "matplotlib": "reports",
    "jinja2": "reports",
    "shapely": "reports",
    "shapefile": "reports",
    "itsdangerous": "reports",
    "dask": "scale",
    "distributed": "scale",
    "numba": "fast",
    "llvmlite": "fast",
}


def extra_for(missing_module: str | None, command: str | None = None) -> str | None:
    """The extra to install when ``missing_module`` cannot be imported while ``command`` runs:
    the command's own extra when it has one, else the extra that lists the module, else None
    (the module is not an optional dependency: a broken install, not a missing extra)."""
    root = (missing_module or "").split(".")[0]
    if root not in MODULE_EXTRAS:
        return None
    if command is not None and command in COMMAND_EXTRAS:
        return COMMAND_EXTRAS[command]
    return MODULE_EXTRAS[root]


def missing_extra_message(extra: str, missing_module: str | None, command: str | None) -> str:
    """One line that names the missing library and the install command that brings it."""
    what = f"`greenstream {command}`" if command else "this feature"
    lib = f" ({missing_module.split('.')[0]} is not installed)" if missing_module else ""
    return (
        f"error: {what} needs the '{extra}' extra{lib}: "
        f"pip install 'greenstream[{extra}]' (or 'greenstream[all]')"
    )
