"""Shared values of the routing tests: the two-city network worked out by hand."""

from __future__ import annotations

from pathlib import Path

NODES = """node_id,name,kind,lat,lon,city_id
A,Alpha,city,30.0,110.0,
B,Beta,city,30.0,130.0,
A:rail,Alpha rail,rail_terminal,30.0,110.0,A
B:rail,Beta rail,rail_terminal,30.0,130.0,B
"""
EDGES = """from_node,to_node,mode,distance_km,capacity_t_per_day
A,B,road,2000,
A:rail,B:rail,rail,2000,15
"""


def write_tiny(tmp_path: Path) -> tuple[Path, Path]:
    """Write :data:`NODES` and :data:`EDGES` to ``nodes.csv`` and ``edges.csv``."""
    (tmp_path / "nodes.csv").write_text(NODES)
    (tmp_path / "edges.csv").write_text(EDGES)
    return tmp_path / "nodes.csv", tmp_path / "edges.csv"
