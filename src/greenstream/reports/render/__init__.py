"""Render report data as HTML (one self-contained file, SVG inline) or PDF (Typst).

Both lay out the same document (:mod:`.view`), so both print the same strings. Needs the
``reports`` extra (Jinja2, Typst, matplotlib, pyshp, shapely and the basemap packages).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from greenstream.errors import InputErrors
from greenstream.reports.render.view import LANGS, Lang


class OutputFormat(StrEnum):
    """The file format of a rendered document."""

    json = "json"
    html = "html"
    pdf = "pdf"


def check_lang(lang: str) -> Lang:
    """``lang`` when it is a language of the documents.

    Parameters
    ----------
    lang : str
        ``en`` or ``zh``.

    Returns
    -------
    str

    Raises
    ------
    InputErrors
        For any other language.

    Examples
    --------
    >>> check_lang("zh")
    'zh'
    """
    if lang not in LANGS:
        raise InputErrors.single("<options>", f"unknown language {lang!r} (en or zh)", field="lang")
    return lang  # type: ignore[return-value]


def period_images(report: dict[str, Any], lang: Lang, *, with_map: bool = True) -> dict[str, str]:
    """The period report's charts and map as SVG text, by name.

    Parameters
    ----------
    report : dict
        A period report (:func:`greenstream.reports.period.period_report`).
    lang : {"en", "zh"}
        Language of the document.
    with_map : bool, default True
        Draw the lanes map (the slowest image).

    Returns
    -------
    dict of str to str
        Image name -> SVG text.
    """
    from greenstream.reports.render import charts, maps

    makers: dict[str, Callable[[], str | None]] = {
        "modes": lambda: charts.modes_chart(report, lang),
        "daily": lambda: charts.daily_chart(report, lang),
    }
    if with_map:
        makers["map"] = lambda: maps.lanes_map(report, lang)
    if lang == "zh":
        makers["reconciliation"] = lambda: charts.reconciliation_chart(report, lang)
    images = {}
    for name, make in makers.items():
        svg = make()
        if svg is not None:
            images[name] = svg
    return images


def render_document(doc: dict[str, Any], images: dict[str, str], fmt: OutputFormat) -> bytes:
    """A document of blocks (:mod:`.view`) and its SVG images as HTML or PDF bytes.

    Parameters
    ----------
    doc : dict
        The document of blocks.
    images : dict of str to str
        Image name -> SVG text.
    fmt : OutputFormat
        HTML or PDF.

    Returns
    -------
    bytes
    """
    if fmt is OutputFormat.html:
        return _html(doc, images)
    if fmt is OutputFormat.pdf:
        return _pdf(doc, images)
    raise ValueError(f"render_document cannot write {fmt}")


def render_period(report: dict[str, Any], lang: str, fmt: OutputFormat) -> bytes:
    """The period report as JSON, HTML or PDF bytes.

    Parameters
    ----------
    report : dict
        A period report (:func:`greenstream.reports.period.period_report`).
    lang : {"en", "zh"}
        Language of the document.
    fmt : OutputFormat
        JSON, HTML (one self-contained file) or PDF (Typst).

    Returns
    -------
    bytes

    References
    ----------
    .. [1] ISO 14083:2023, reporting (WTW and TTW, transport activity, data types); GB/T
       46531-2025 for the Chinese view and the reconciliation.

    Examples
    --------
    >>> import polars as pl
    >>> from greenstream.pipeline import footprint
    >>> legs = pl.DataFrame({"shipment_id": ["S1", "S1"], "mass_kg": [10_000.0, 10_000.0],
    ...                      "mode": ["road", "rail"], "distance_km": [100.0, 500.0]})
    >>> footprints = footprint(legs).legs
    >>> import json
    >>> from greenstream.reports.documents import file_document
    >>> report = file_document(footprints, organisation="Acme")
    >>> json.loads(render_period(report, "en", OutputFormat.json))["schema"]
    'greenstream.period-report.v1'
    """
    if fmt is OutputFormat.json:
        return json.dumps(report, indent=2, ensure_ascii=False, default=str).encode()
    from greenstream.reports.render.view import period_view

    checked = check_lang(lang)
    images = period_images(report, checked)
    doc = period_view(report, checked, {name: f"{name}.svg" for name in images})
    return render_document(doc, images, fmt)


def render_certificate(report: dict[str, Any], lang: str, fmt: OutputFormat) -> bytes:
    """The one-page customer certificate as JSON, HTML or PDF bytes.

    Parameters
    ----------
    report : dict
        A period report (:func:`greenstream.reports.period.period_report`).
    lang : {"en", "zh"}
        Language of the document.
    fmt : OutputFormat
        JSON, HTML (one self-contained file) or PDF (Typst).

    Returns
    -------
    bytes
    """
    if fmt is OutputFormat.json:
        return json.dumps(report, indent=2, ensure_ascii=False, default=str).encode()
    from greenstream.reports.render.view import certificate_view

    return render_document(certificate_view(report, check_lang(lang)), {}, fmt)


def render_shared_waybill(data: dict[str, Any], lang: str, fmt: OutputFormat) -> bytes:
    """A shared waybill's read-only page as JSON or HTML.

    Parameters
    ----------
    data : dict
        :func:`greenstream.reports.links.shared_waybill`.
    lang : {"en", "zh"}
        Language of the document.
    fmt : OutputFormat
        JSON, HTML (one self-contained file) or PDF (Typst).

    Returns
    -------
    bytes
    """
    if fmt is OutputFormat.json:
        return json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
    from greenstream.reports.render.view import shared_waybill_view

    return render_document(shared_waybill_view(data, check_lang(lang)), {}, fmt)


def render(report: dict[str, Any], lang: str, fmt: OutputFormat) -> bytes:
    """A period report or a certificate (by ``report["kind"]``) as bytes.

    Parameters
    ----------
    report : dict
        A period report or certificate.
    lang : {"en", "zh"}
        Language of the document.
    fmt : OutputFormat
        JSON, HTML (one self-contained file) or PDF (Typst).

    Returns
    -------
    bytes
    """
    if report.get("kind") == "certificate":
        return render_certificate(report, lang, fmt)
    return render_period(report, lang, fmt)


def _inline_svg(svg: str) -> str:
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _html(doc: dict[str, Any], images: dict[str, str]) -> bytes:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("greenstream.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    svgs = {f"{name}.svg": _inline_svg(svg) for name, svg in images.items()}
    return env.get_template("document.html.j2").render(doc=doc, svgs=svgs).encode()


def _pdf(doc: dict[str, Any], images: dict[str, str]) -> bytes:
    import typst

    from greenstream.reports.render.fonts import require_cjk_fonts

    font_dirs = require_cjk_fonts() if doc["lang"] == "zh" else []
    template = (resources.files("greenstream.reports") / "templates" / "document.typ").read_bytes()
    with tempfile.TemporaryDirectory(prefix="greenstream-report-") as tmp:
        root = Path(tmp)
        (root / "document.typ").write_bytes(template)
        (root / "view.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        for name, svg in images.items():
            (root / f"{name}.svg").write_text(svg, encoding="utf-8")
        pdf = typst.compile(
            str(root / "document.typ"),
            root=str(root),
            font_paths=[str(d) for d in font_dirs],
        )
    assert isinstance(pdf, bytes)
    return pdf
