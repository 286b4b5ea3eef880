"""A tenant's rules document (stored, versioned) and the catalogue it implies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from greenstream.errors import InputError, InputErrors
from greenstream.points.catalogue import (
    Catalogue,
    Parameter,
    build_catalogue,
    builtin_catalogue,
    tenant_catalogue,
)
from greenstream.points.ledger.core import RULES
from greenstream.points.ledger.errors import NoRules
from greenstream.points.ledger.postings import PostingBook
from greenstream.points.rules import Rules, parse_rules


def catalogue_with_overrides(base: Catalogue, rules: Rules) -> Catalogue:
    """The catalogue with a tenant's parameter overrides (``base`` itself when none).

    Parameters
    ----------
    base : Catalogue
        The ledger's catalogue (the packaged one, or one built from other files).
    rules : Rules
        The tenant's rules.

    Returns
    -------
    Catalogue
        Savings per unit (mg CO2e) with the tenant's values, priced again by the kernel
        (ISO 14083:2023, 5.4) and the material factors.
    """
    if not rules.parameters:
        return base
    overrides = tuple(
        (
            p.action,
            p.parameter,
            Parameter(p.value, "", p.source or "tenant rules", p.assumption, p.reason),
        )
        for p in sorted(rules.parameters, key=lambda p: (p.action, p.parameter))
    )
    if base is builtin_catalogue():
        return tenant_catalogue(overrides)
    return build_catalogue(overrides=overrides)


def adding_actions(catalogue: Catalogue, enabled: set[str], *, file: str) -> list[InputError]:
    """One error per enabled action whose saving is negative (the alternative emits more CO2e
    than the baseline): such an action cannot earn points.

    Parameters
    ----------
    catalogue : Catalogue
        The tenant's catalogue (savings per unit, mg CO2e).
    enabled : set of str
        The actions the tenant's rules enable.
    file : str
        Name of the rules document, for the errors.

    Returns
    -------
    list of InputError
        Empty when every enabled action avoids CO2e or saves nothing.

    Examples
    --------
    >>> adding_actions(builtin_catalogue(), {"pickup_station"}, file="<rules>")
    []
    """
    return [
        InputError(
            file,
            None,
            "parameters",
            f"with these parameters, {name!r} adds "
            f"{-catalogue.actions[name].saving_per_unit_kg} kg CO2e per "
            f"{catalogue.actions[name].unit} instead of avoiding it: revise the values or leave "
            "the action out of 'actions'",
        )
        for name in sorted(enabled)
        if catalogue.actions[name].saving_per_unit_mg < 0
    ]


class RulesBook(PostingBook):
    """Rules per tenant."""

    def set_rules(self, tenant: str, document: Mapping[str, Any], *, file: str = "<rules>") -> int:
        """Check and store a tenant's rules; returns the new version.

        Parameters
        ----------
        tenant : str
            Tenant name.
        document : mapping of str to Any
            The rules document (:func:`greenstream.points.rules.parse_rules`).
        file : str, default "<rules>"
            Name of the source, for the errors.

        Returns
        -------
        int
            The new version (1 for the first rules).

        Raises
        ------
        InputErrors
            Every problem of the document, and every enabled action whose saving the parameter
            overrides make negative (disable it with ``actions`` or revise the values).
        """
        rules = parse_rules(
            dict(document),
            file=file,
            known_actions=set(self.catalogue.actions),
            overridable=self._overridable,
        )
        # the overrides must give a catalogue (kernel-checked) in which no enabled action adds
        # CO2e: its points would be negative, and no account may go below zero
        catalogue = self.catalogue_for(rules)
        InputErrors.raise_if_any(adding_actions(catalogue, self.enabled_actions(rules), file=file))

        def write(conn: Connection) -> int:
            current = conn.execute(
                select(RULES.c.version).where(RULES.c.tenant == tenant)
            ).scalar_one_or_none()
            version = (current or 0) + 1
            values = {"version": version, "document": rules.to_json(), "updated_at": self.clock()}
            if current is None:
                conn.execute(RULES.insert(), {"tenant": tenant, **values})
            else:
                conn.execute(RULES.update().where(RULES.c.tenant == tenant).values(**values))
            return version

        result: int = self._write(write)
        return result

    def rules(self, tenant: str, conn: Connection | None = None) -> tuple[Rules, int]:
        """The tenant's current rules and their version.

        Parameters
        ----------
        tenant : str
            Tenant name.
        conn : sqlalchemy.Connection, optional
            Read within this connection; a new one when None.

        Returns
        -------
        tuple of (Rules, int)
            The rules and their version.

        Raises
        ------
        NoRules
            If the tenant has no rules.
        """

        def read(c: Connection) -> tuple[Rules, int]:
            row = c.execute(
                select(RULES.c.document, RULES.c.version).where(RULES.c.tenant == tenant)
            ).first()
            if row is None:
                raise NoRules(f"tenant {tenant!r} has no points rules (set them first)")
            doc = json.loads(row.document)
            rules = parse_rules(
                doc, known_actions=set(self.catalogue.actions), overridable=self._overridable
            )
            return rules, int(row.version)

        if conn is not None:
            return read(conn)
        with self.engine.connect() as c:
            return read(c)

    def catalogue_for(self, rules: Rules) -> Catalogue:
        """The catalogue with the tenant's parameter overrides (the ledger's own when none).

        Parameters
        ----------
        rules : Rules
            The tenant's rules.

        Returns
        -------
        Catalogue
            Savings per unit for this tenant.
        """
        return catalogue_with_overrides(self.catalogue, rules)

    def enabled_actions(self, rules: Rules) -> set[str]:
        """The actions the rules enable (every catalogue action when the rules list none).

        Parameters
        ----------
        rules : Rules
            The tenant's rules.

        Returns
        -------
        set of str
            Action ids.
        """
        return set(rules.actions) if rules.actions else set(self.catalogue.actions)
