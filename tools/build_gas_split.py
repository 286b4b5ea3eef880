#!/usr/bin/env python3
"""Regenerate ``src/greenstream/reports/data/desnz_2025_freight_gases.csv``: the per-gas split
(CO2, CH4, N2O, each in kg CO2e) of every DESNZ 2025 "Freighting goods" factor per tonne.km and
per km, used by the GB/T 46531-2025 view (CO2 only) and the reconciliation table.

Dev-time only. Input: the DESNZ 2025 flat file as exported verbatim in the public repository
scope3emissiontest-oss/JulesProject at commit 0c3571d4d23ab7ead2c2b2fb1bf212a6d90d2b81
(``defra_factors_2025_v2/category_freighting_goods.csv``, the same export the factor registry's
``desnz_2025_freight.csv`` was read from). DESNZ publishes, for each factor ``<id>_1`` (total kg
CO2e), the parts ``<id>_2`` (kg CO2e of CO2), ``<id>_3`` (of CH4) and ``<id>_4`` (of N2O)::

    python3 tools/build_gas_split.py path/to/category_freighting_goods.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

OUT = Path(__file__).parents[1] / "src/greenstream/reports/data/desnz_2025_freight_gases.csv"
SOURCE = (
    "DESNZ, Greenhouse gas reporting: conversion factors 2025, flat file, table 'Freighting "
    "goods', columns 'kg CO2e' and 'kg CO2e of CO2/CH4/N2O per unit' (verbatim export "
    "scope3emissiontest-oss/JulesProject@0c3571d4 defra_factors_2025_v2/"
    "category_freighting_goods.csv)"
)
GAS_SUFFIX = {"2": "kg_co2e_of_co2", "3": "kg_co2e_of_ch4", "4": "kg_co2e_of_n2o"}


def main(path: Path) -> None:
    rows: dict[str, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["UOM"] not in ("tonne.km", "km") or not r["GHG Conversion Factor 2025"]:
                continue
            base, _, part = r["ID"].rpartition("_")
            entry = rows.setdefault(
                base,
                {
                    "row_id": f"{base}_1",
                    "label": " > ".join(
                        x for x in (r["Level 2"], r["Level 3"], r["Level 4"], r["Column Text"]) if x
                    ),
                    "unit": r["UOM"],
                },
            )
            value = r["GHG Conversion Factor 2025"]
            if part == "1":
                entry["kg_co2e"] = value
            elif part in GAS_SUFFIX:
                entry[GAS_SUFFIX[part]] = value
    fields = [
        "row_id",
        "label",
        "unit",
        "kg_co2e",
        "kg_co2e_of_co2",
        "kg_co2e_of_ch4",
        "kg_co2e_of_n2o",
        "source",
        "licence",
    ]
    complete = [e for e in rows.values() if all(k in e for k in fields[3:7])]
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for e in sorted(complete, key=lambda e: e["row_id"]):
            writer.writerow({**e, "source": SOURCE, "licence": "OGL-3.0"})
    print(f"{len(complete)} factors written to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
