"""Hash chain rules of the tamper-evident audit trail: a per-tenant, append-only SHA-256 chain.

Every upload batch of shipments is sealed by one :class:`~greenstream.store.models.AuditRecord`:

- ``inputs_sha256`` = SHA-256 of the canonical inputs: the chain elements' input columns as
  canonical JSON lines (:func:`frame_lines`: rows sorted by ``shipment_id``, ``seq``; columns in
  the fixed order of :data:`~greenstream.store.models.CHAIN_INPUT_COLUMNS`), then a separator,
  then the canonical JSON of the TOCs / HOCs / trips the batch used (``references_json``);
- ``outputs_sha256`` = SHA-256 of the kernel outputs per chain element, then of the per-shipment
  footprints (roll-up and ``pf_id``), both as canonical JSON lines;
- ``factors_sha256`` = SHA-256 of the factor table of the registry version used (stored in
  ``factor_set_versions``);
- ``record_sha256`` = SHA-256 of :func:`canonical_json` of every sealed field of the record,
  including ``prev_sha256``: the previous record's ``record_sha256`` (:data:`GENESIS` for the
  first record of a tenant).

Canonical JSON: UTF-8, keys sorted, no blanks (``","`` and ``":"``), floats in their shortest
round-trip form, timestamps as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. The same inputs and outputs read
back from SQLite or PostgreSQL give the same bytes, which is what :mod:`greenstream.audit.verify`
relies on.

Seal formats (``audit_records.seal_format``)
--------------------------------------------
- **1** (records sealed before migration 0400): the content hashes above, over canonical JSON lines of
  every row (:func:`frame_lines`, ~1.9 CPU-s per 440k chain elements). Such records keep
  verifying with this form.
- **2**: the content hashes are over canonical *column digests*
  (:mod:`greenstream.seal.digest`, ~0.25 CPU-s per 440k chain elements). The record's
  ``digests_json`` (:func:`seal_v2_digests`) lists every column digest of the stored chain
  elements and shipments, the SHA-256 of the references and of the stored chunk bytes;
  ``inputs_sha256`` / ``outputs_sha256`` are SHA-256 of the canonical JSON of their parts of it
  (:func:`inputs_sha256_v2`, :func:`outputs_sha256_v2`), and ``record_sha256`` covers
  :data:`SEALED_FIELDS_V2` (the format-1 fields plus ``seal_format`` and ``digests``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

import polars as pl

GENESIS: Final = "0" * 64
SEALED_FIELDS: Final = (
    "tenant",
    "seq",
    "created_at",
    "source",
    "factor_set_version",
    "factors_sha256",
    "shipment_count",
    "tce_count",
    "inputs_sha256",
    "outputs_sha256",
    "prev_sha256",
)
SEALED_FIELDS_V2: Final = (*SEALED_FIELDS, "seal_format", "digests")
SEAL_FORMAT: Final = 2  # the format new records are sealed with
_SEPARATOR: Final = b"\n--\n"


def canonical_json(value: Any) -> bytes:
    """Canonical JSON bytes of ``value`` (sorted keys, no blanks, no NaN)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _canonical_columns(frame: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            col = col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        elif isinstance(dtype, (pl.Enum, pl.Categorical)):
            col = col.cast(pl.String)
        elif dtype.is_integer():
            col = col.cast(pl.Int64)
        elif dtype.is_float():
            col = col.cast(pl.Float64)
        exprs.append(col.alias(name))
    return frame.select(exprs)


def frame_lines(frame: pl.DataFrame, columns: tuple[str, ...], sort_by: tuple[str, ...]) -> bytes:
    """Canonical JSON lines of ``columns`` of ``frame`` (missing columns are null), sorted."""
    present = set(frame.columns)
    selected = frame.select(
        [pl.col(c) if c in present else pl.lit(None, dtype=pl.String).alias(c) for c in columns]
    ).sort(list(sort_by), maintain_order=True)
    return _canonical_columns(selected).write_ndjson().encode()


def sha256_hex(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for i, part in enumerate(parts):
        if i:
            digest.update(_SEPARATOR)
        digest.update(part)
    return digest.hexdigest()


def record_sha256(fields: dict[str, Any]) -> str:
    """The hash that seals one record: SHA-256 of the canonical JSON of its sealed fields
    (:data:`SEALED_FIELDS`, or :data:`SEALED_FIELDS_V2` when ``fields["seal_format"]`` is 2)."""
    seal_format = fields.get("seal_format") or 1
    if seal_format not in (1, 2):
        raise ValueError(f"unknown seal format {seal_format!r}")
    names = SEALED_FIELDS if seal_format == 1 else SEALED_FIELDS_V2
    missing = [f for f in names if f not in fields]
    if missing:
        raise ValueError(f"audit record lacks sealed fields {missing}")
    return hashlib.sha256(canonical_json({f: fields[f] for f in names})).hexdigest()


def seal_v2_digests(
    chain: dict[str, str],
    shipments: dict[str, str],
    references_json: str,
    chunks_sha256: str,
    chunk_count: int,
) -> dict[str, Any]:
    """The ``digests`` document of a format-2 record (stored as canonical JSON)."""
    return {
        "chain": chain,
        "shipments": shipments,
        "references_sha256": hashlib.sha256(references_json.encode()).hexdigest(),
        "chunks_sha256": chunks_sha256,
        "chunk_count": chunk_count,
    }


def _part(digests: dict[str, Any], columns: tuple[str, ...]) -> dict[str, str]:
    chain: dict[str, str] = digests["chain"]
    return {c: chain[c] for c in columns}


def inputs_sha256_v2(digests: dict[str, Any], input_columns: tuple[str, ...]) -> str:
    """SHA-256 of the canonical JSON of the input column digests and the references' hash."""
    doc = {
        "chain": _part(digests, input_columns),
        "references_sha256": digests["references_sha256"],
    }
    return hashlib.sha256(canonical_json(doc)).hexdigest()


def outputs_sha256_v2(digests: dict[str, Any], output_columns: tuple[str, ...]) -> str:
    """SHA-256 of the canonical JSON of the output column digests and the shipment digests."""
    doc = {"chain": _part(digests, output_columns), "shipments": digests["shipments"]}
    return hashlib.sha256(canonical_json(doc)).hexdigest()
