"""greenstream: open MRV-T of logistics greenhouse-gas emissions (ISO 14083 / GLEC Framework v3).

``greenstream.footprint(legs, tocs=..., hocs=..., trips=...)`` computes the footprint of shipments
given as Polars, pandas or Arrow tables; see docs/data-contract.md for the columns.
"""

from typing import Any

from greenstream.runtime import configure_allocator

# before anything imports Polars: its allocator reads the setting once, when Polars loads
configure_allocator()

__version__ = "0.1.0"


def footprint(legs: Any, **kwargs: Any) -> Any:
    """See :func:`greenstream.pipeline.footprint` (imported lazily to keep start-up light)."""
    from greenstream.pipeline import footprint as _footprint

    return _footprint(legs, **kwargs)


__all__ = ["__version__", "footprint"]
