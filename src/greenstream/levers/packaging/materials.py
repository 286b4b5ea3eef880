"""Packaging material and end-of-life factors, read from the factor registry (never from code).

The registry holds them as categories ``material`` (cradle-to-gate, per tonne of material, e.g.
``board.primary``, ``board.closed_loop``) and ``end_of_life`` (per tonne of waste, e.g.
``board.recycling``, ``board.landfill``, ``board.incineration``), DESNZ 2025 by default
(``factors/data/desnz_2025_material.csv``), each row with its source, table and row id. A tenant
may import its own set with ``greenstream factors import``; the strongest set wins as for every
other factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from greenstream.errors import InputErrors
from greenstream.factors import Registry

KG_PER_TONNE = 1000.0  # SI definition


@dataclass(frozen=True)
class MaterialFactors:
    """kg CO2e per tonne by key (``<material>.<variant>``), with factor ids and sources."""

    material: pl.DataFrame  # key, co2e_kg_per_t, factor_id, factor_source
    end_of_life: pl.DataFrame
    registry_version: str

    @classmethod
    def from_registry(cls, registry: Registry | None = None) -> MaterialFactors:
        """Material and end-of-life factors of the registry (published WTW, else WTT rows).

        Parameters
        ----------
        registry : Registry, optional
            The factor registry; the built-in one when None.

        Returns
        -------
        MaterialFactors
            The factors, kg CO2e per tonne, with ids and sources.

        References
        ----------
        .. [1] UK DESNZ, GHG conversion factors 2025, 'Material use' and 'Waste disposal'.

        Examples
        --------
        >>> f = MaterialFactors.from_registry()
        >>> round(f.material_kg_per_kg("board.primary"), 8)
        1.19972542
        """
        reg = registry or Registry.builtin()

        def table(category: str) -> pl.DataFrame:
            rows = reg.factors.filter(
                (pl.col("category") == category) & pl.col("scope").is_in(["WTW", "WTT"])
            )
            return (
                rows.sort("scope", descending=True)  # a published WTW before a WTT
                .unique("vehicle_class", keep="first", maintain_order=True)
                .select(
                    pl.col("vehicle_class").alias("key"),
                    pl.col("value").alias("co2e_kg_per_t"),
                    "factor_id",
                    pl.format(
                        "{}, {} row {}",
                        pl.col("source"),
                        pl.col("table").fill_null(""),
                        pl.col("row_id").fill_null("-"),
                    ).alias("factor_source"),
                )
                .sort("key")
            )

        return cls(table("material"), table("end_of_life"), reg.version)

    def materials(self) -> set[str]:
        """Material names usable in a suite (``board`` for ``board.primary`` ...)."""
        return {k.split(".")[0] for k in self.material.get_column("key").to_list()}

    def _value(self, frame: pl.DataFrame, key: str, what: str) -> float:
        hit = frame.filter(pl.col("key") == key)
        if hit.height == 0:
            known = ", ".join(frame.get_column("key").to_list())
            raise InputErrors.single(
                "<factor registry>", f"no {what} factor '{key}' (known: {known})", field=what
            )
        return float(hit.item(0, "co2e_kg_per_t"))

    def material_kg_per_kg(self, key: str) -> float:
        """Cradle-to-gate kg CO2e per kg of material ``key`` (e.g. ``board.primary``).

        Parameters
        ----------
        key : str
            ``<material>.<variant>``.

        Returns
        -------
        float
            kg CO2e per kg of material.

        Raises
        ------
        InputErrors
            If the registry has no such factor.
        """
        return self._value(self.material, key, "material") / KG_PER_TONNE

    def end_of_life_kg_per_kg(self, key: str) -> float:
        """kg CO2e per kg of waste of ``key`` (e.g. ``board.landfill``).

        Parameters
        ----------
        key : str
            ``<material>.<route>``.

        Returns
        -------
        float
            kg CO2e per kg of waste.

        Raises
        ------
        InputErrors
            If the registry has no such factor.
        """
        return self._value(self.end_of_life, key, "end_of_life") / KG_PER_TONNE

    def has_end_of_life(self, key: str) -> bool:
        """Whether the registry has an end-of-life factor ``key``.

        Parameters
        ----------
        key : str
            ``<material>.<route>``.

        Returns
        -------
        bool
            True when present.
        """
        return key in set(self.end_of_life.get_column("key").to_list())

    def factor_ids(self, keys: list[str]) -> list[str]:
        """Registry factor ids of material and end-of-life ``keys``.

        Parameters
        ----------
        keys : list of str
            Factor keys.

        Returns
        -------
        list of str
            The ids found.
        """
        both = pl.concat([self.material, self.end_of_life])
        return both.filter(pl.col("key").is_in(keys)).get_column("factor_id").to_list()
