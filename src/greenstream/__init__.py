"""greenstream: open MRV-T of logistics greenhouse-gas emissions (ISO 14083 / GLEC Framework v3).

``greenstream.footprint(legs, tocs=..., hocs=..., trips=...)`` computes the footprint of shipments
given as Polars, pandas or Arrow tables; see docs/data-contract.md for the columns.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    # the version is read from the installed metadata (pyproject.toml's is the only one), on
    # first use: importlib.metadata costs more than the rest of ``import greenstream``
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("greenstream")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'greenstream' has no attribute {name!r}")


def footprint(legs: Any, **kwargs: Any) -> Any:
    """See :func:`greenstream.pipeline.footprint` (imported lazily to keep start-up light)."""
    from greenstream.pipeline import footprint as _footprint

    return _footprint(legs, **kwargs)


__all__ = ["__version__", "footprint"]
