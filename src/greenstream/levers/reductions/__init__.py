"""Reductions, claims and targets: what each initiative saved against its baseline (priced by the
accounting kernel, attributed without double counting, sealed), what published claims give with
greenstream's factors, and where a company stands against its target (docs/reductions.md)."""

from greenstream.levers.reductions.attribution import METHODS, attribute, shapley_weight
from greenstream.levers.reductions.initiatives import (
    KINDS,
    Initiatives,
    check_initiatives,
    read_initiatives,
)
from greenstream.levers.reductions.ledger import LedgerResult, compute_reductions

__all__ = [
    "KINDS",
    "METHODS",
    "Initiatives",
    "LedgerResult",
    "attribute",
    "check_initiatives",
    "compute_reductions",
    "read_initiatives",
    "shapley_weight",
]
