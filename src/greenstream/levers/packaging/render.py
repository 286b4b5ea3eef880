"""A 3D picture of a packing for the packing station: an isometric SVG of the box and its units.

The view looks down from the corner (+x, +y, +z): each unit shows its top and its two faces
turned to the viewer, drawn far to near (painter's order by x + y + z of the nearest corner),
labelled with its item id and the order in which to place it (bottom layer first).
"""

from __future__ import annotations

import hashlib
import math
from html import escape
from typing import Any

COS30 = math.cos(math.radians(30.0))
SIN30 = 0.5

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


def _project(x: float, y: float, z: float, scale: float) -> tuple[float, float]:
    return (x - y) * COS30 * scale, ((x + y) * SIN30 - z) * scale


def _shade(colour: str, factor: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(min(255, int(c * factor)) for c in (r, g, b)))


def _colour(item_id: str) -> str:
    return PALETTE[int(hashlib.sha256(item_id.encode()).hexdigest()[:8], 16) % len(PALETTE)]


def packing_svg(
    box_mm: tuple[float, float, float],
    units: list[dict[str, Any]],
    *,
    title: str = "",
    width_px: int = 640,
) -> str:
    """SVG text of one package.

    Parameters
    ----------
    box_mm : inner length, width, height of the box (mm) along x, y, z.
    units : one dict per unit with ``x_mm, y_mm, z_mm, lx_mm, ly_mm, lz_mm`` and ``item_id``.
    title : caption (box type, fill rate, ...).
    width_px : width of the picture in pixels.
    """
    length, width, height = box_mm
    corners = [(x, y, z) for x in (0.0, length) for y in (0.0, width) for z in (0.0, height)]
    raw = [_project(*c, 1.0) for c in corners]
    min_u = min(p[0] for p in raw)
    max_u = max(p[0] for p in raw)
    min_v = min(p[1] for p in raw)
    max_v = max(p[1] for p in raw)
    margin = 30.0
    scale = (width_px - 2 * margin) / max(max_u - min_u, 1e-9)
    height_px = int((max_v - min_v) * scale + 2 * margin + 40)

    def pt(x: float, y: float, z: float) -> str:
        u, v = _project(x, y, z, scale)
        return f"{u - min_u * scale + margin:.1f},{v - min_v * scale + margin + 30:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" height="{height_px}" '
        f'viewBox="0 0 {width_px} {height_px}" font-family="sans-serif">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{margin}" y="22" font-size="15">{escape(title)}</text>',
    ]
    # the far walls and floor of the box, then the units, then the near edges
    floor = [pt(0, 0, 0), pt(length, 0, 0), pt(length, width, 0), pt(0, width, 0)]
    parts.append(f'<polygon points="{" ".join(floor)}" fill="#f3efe6" stroke="#8a7a5a"/>')
    far: tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...] = (
        ((0, 0, 0), (0, 0, height)),
        ((0, 0, height), (length, 0, height)),
    )
    for a, b in far:
        parts.append(f'<polyline points="{pt(*a)} {pt(*b)}" fill="none" stroke="#8a7a5a"/>')
    parts.append(
        f'<polyline points="{pt(0, 0, height)} {pt(0, width, height)}" fill="none" '
        'stroke="#8a7a5a"/>'
    )
    placing = sorted(
        range(len(units)), key=lambda i: (units[i]["z_mm"], units[i]["x_mm"], units[i]["y_mm"])
    )
    step = {i: n + 1 for n, i in enumerate(placing)}
    order = sorted(
        range(len(units)),
        key=lambda i: (
            units[i]["x_mm"] + units[i]["y_mm"] + units[i]["z_mm"],
            units[i]["z_mm"],
        ),
    )
    for i in order:
        u = units[i]
        x0, y0, z0 = u["x_mm"], u["y_mm"], u["z_mm"]
        x1, y1, z1 = x0 + u["lx_mm"], y0 + u["ly_mm"], z0 + u["lz_mm"]
        colour = _colour(str(u.get("item_id", i)))
        faces = (
            ([(x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)], 1.0),  # top
            ([(x1, y0, z0), (x1, y1, z0), (x1, y1, z1), (x1, y0, z1)], 0.8),  # +x face
            ([(x0, y1, z0), (x1, y1, z0), (x1, y1, z1), (x0, y1, z1)], 0.65),  # +y face
        )
        for face, shade in faces:
            points = " ".join(pt(*c) for c in face)
            parts.append(
                f'<polygon points="{points}" fill="{_shade(colour, shade)}" stroke="#222" '
                'stroke-width="0.8"/>'
            )
        cx, cy = pt((x0 + x1) / 2, (y0 + y1) / 2, z1).split(",")
        label = f"{step[i]}: {u.get('item_id', i)}"
        parts.append(
            f'<text x="{cx}" y="{cy}" font-size="11" text-anchor="middle">{escape(label)}</text>'
        )
    near: tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...] = (
        ((length, 0, 0), (length, 0, height)),
        ((length, width, 0), (length, width, height)),
        ((0, width, 0), (0, width, height)),
        ((length, 0, height), (length, width, height)),
        ((0, width, height), (length, width, height)),
    )
    for a, b in near:
        parts.append(
            f'<polyline points="{pt(*a)} {pt(*b)}" fill="none" stroke="#8a7a5a" '
            'stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
