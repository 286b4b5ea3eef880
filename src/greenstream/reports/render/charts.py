"""Report charts as SVG (vector; text kept as text so a PDF's text layer holds the labels).

Matplotlib draws them headless; the font list puts a CJK font first so Chinese labels render
(:func:`greenstream.reports.render.fonts.cjk_font_dirs` checks one is installed).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Final

from greenstream.reports.render import fmt
from greenstream.reports.render.view import Lang, mode_name, s

if TYPE_CHECKING:
    from matplotlib.figure import Figure

KG_PER_TONNE: Final = 1000.0  # SI definition
FONT_FAMILIES: Final = ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "DejaVu Sans"]
MODE_COLOURS: Final[dict[str, str]] = {
    "road": "#d95f02",
    "rail": "#1b9e77",
    "sea": "#386cb0",
    "inland_waterway": "#7fc8f8",
    "air": "#e7298a",
    "hub": "#666666",
}
TTW_COLOUR: Final = "#2b6777"
WTT_COLOUR: Final = "#9fc5c9"


def _figure(width_in: float, height_in: float) -> Figure:
    import matplotlib

    matplotlib.use("svg", force=False)
    from matplotlib.figure import Figure

    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",
            "font.family": "sans-serif",
            "font.sans-serif": FONT_FAMILIES,
            "font.size": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "greenstream",
        }
    )
    return Figure(figsize=(width_in, height_in), layout="constrained")


def to_svg(fig: Figure) -> str:
    """A matplotlib figure as SVG text, without a date (the same figure gives the same bytes).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.

    Returns
    -------
    str
    """
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "greenstream"})
    return buf.getvalue()


def modes_chart(report: dict[str, Any], lang: Lang) -> str:
    """Horizontal bars of WTW emissions per mode and for hubs, split into TTW and WTT (t).

    Parameters
    ----------
    report : dict
        A period report (:func:`greenstream.reports.period.period_report`).
    lang : {"en", "zh"}
        Language of the document.

    Returns
    -------
    str
        SVG text.

    References
    ----------
    .. [1] ISO 14083:2023 (WTW = WTT + TTW).
    """
    rows = list(reversed(report["by_mode"]))
    fig = _figure(6.5, 0.45 * max(len(rows), 2) + 0.8)
    ax = fig.subplots()
    names = [mode_name(r["mode"], lang) for r in rows]
    ttw = [r["co2e_ttw_kg"] / KG_PER_TONNE for r in rows]
    wtt = [r["co2e_wtt_kg"] / KG_PER_TONNE for r in rows]
    ax.barh(names, ttw, color=TTW_COLOUR, label=s("ttw", lang))
    ax.barh(names, wtt, left=ttw, color=WTT_COLOUR, label=s("wtt", lang))
    for i, r in enumerate(rows):
        ax.text(ttw[i] + wtt[i], i, " " + fmt.t_co2e(r["co2e_wtw_kg"]), va="center", fontsize=7)
    ax.set_xlabel(s("t_co2e", lang))
    ax.margins(x=0.15)
    ax.legend(frameon=False, loc="lower right")
    return to_svg(fig)


def daily_chart(report: dict[str, Any], lang: Lang) -> str | None:
    """WTW and TTW emissions per day (t); None with fewer than two days.

    Parameters
    ----------
    report : dict
        A period report (:func:`greenstream.reports.period.period_report`).
    lang : {"en", "zh"}
        Language of the document.

    Returns
    -------
    str or None
        SVG text.

    References
    ----------
    .. [1] ISO 14083:2023 (WTW = WTT + TTW).
    """
    days = report["daily"]
    if len(days) < 2:
        return None
    fig = _figure(6.5, 2.2)
    ax = fig.subplots()
    x = [d["day"] for d in days]
    ax.plot(
        x,
        [d["co2e_wtw_kg"] / KG_PER_TONNE for d in days],
        color=TTW_COLOUR,
        marker="o",
        ms=3,
        label=s("wtw", lang),
    )
    ax.plot(
        x,
        [d["co2e_ttw_kg"] / KG_PER_TONNE for d in days],
        color=WTT_COLOUR,
        marker="o",
        ms=3,
        label=s("ttw", lang),
    )
    ax.set_ylabel(s("t_co2e", lang))
    ax.set_ylim(bottom=0)
    step = max(1, len(x) // 8)
    ax.set_xticks(range(0, len(x), step), [x[i] for i in range(0, len(x), step)])
    ax.legend(frameon=False)
    return to_svg(fig)


def reconciliation_chart(report: dict[str, Any], lang: Lang) -> str:
    """Waterfall from ISO 14083 WTW CO2e down to GB/T 46531 TTW CO2 (t).

    Parameters
    ----------
    report : dict
        A period report (:func:`greenstream.reports.period.period_report`).
    lang : {"en", "zh"}
        Language of the document.

    Returns
    -------
    str
        SVG text.

    References
    ----------
    .. [1] GB/T 46531-2025 (TTW CO2 of road and waterway transport); ISO 14083:2023 (WTW CO2e).
    """
    rec = report["reconciliation"]
    labels = [s("rec_iso", lang)]
    bottoms = [0.0]
    heights = [rec["iso14083_wtw_kg"] / KG_PER_TONNE]
    colours = [TTW_COLOUR]
    level = heights[0]
    for line in rec["lines"]:
        h = line["co2e_kg"] / KG_PER_TONNE
        level -= h
        labels.append(s("rec_" + line["line"], lang))
        bottoms.append(level)
        heights.append(h)
        colours.append("#c44e52")
    labels.append(s("rec_gbt", lang))
    bottoms.append(0.0)
    heights.append(rec["gbt46531_co2_kg"] / KG_PER_TONNE)
    colours.append("#55a868")
    fig = _figure(6.5, 2.8)
    ax = fig.subplots()
    ax.bar(range(len(labels)), heights, bottom=bottoms, color=colours)
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    ax.set_ylabel(s("t_co2e", lang))
    return to_svg(fig)
