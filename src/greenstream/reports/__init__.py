"""Reports: the period report (ISO 14083 with the GB/T views in Chinese), the customer
certificate and shareable waybill links, as JSON, HTML and PDF.

Every figure comes from :func:`greenstream.reports.period.period_report` (or
:func:`greenstream.reports.certificate.certificate`), pure functions of a table of chain-element
footprints as the kernel writes it (``greenstream footprint`` output, or the stored chain
elements): the CLI, the API and the renderers all print the same numbers. The renderers
(:mod:`greenstream.reports.render`) import the ``reports`` extra (Typst, matplotlib, Jinja2)
on first use only.
"""
