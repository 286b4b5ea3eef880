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
    """Canonical JSON bytes of ``value`` (UTF-8, sorted keys, no blanks, no NaN).

    Parameters
    ----------
    value : Any
        A JSON-serialisable value (dicts, lists, strings, numbers, bools, None).

    Returns
    -------
    bytes
        The UTF-8 encoding; equal values give equal bytes.

    Raises
    ------
    ValueError
        If ``value`` holds NaN or an infinity (no JSON form).

    Examples
    --------
    >>> canonical_json({"b": 1.5, "a": "x"})
    b'{"a":"x","b":1.5}'
    """
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
    """Canonical JSON lines of ``columns`` of ``frame``, sorted (seal format 1).

    Datetimes are written as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, integers as Int64 and floats
    as Float64 (shortest round-trip form), so SQLite and PostgreSQL read-backs give the same bytes.

    Parameters
    ----------
    frame : polars.DataFrame
        The rows to hash.
    columns : tuple of str
        Columns in their fixed order; a column missing from ``frame`` is written as null.
    sort_by : tuple of str
        Sort keys (e.g. ``("shipment_id", "seq")``); ties keep their order.

    Returns
    -------
    bytes
        One JSON object per row, each ending in a newline.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"shipment_id": ["s2", "s1"], "seq": [0, 0], "mass_kg": [10.0, 20.0]})
    >>> print(frame_lines(frame, ("shipment_id", "seq", "mass_kg", "note"),
    ...                   ("shipment_id", "seq")).decode(), end="")
    {"shipment_id":"s1","seq":0,"mass_kg":20.0,"note":null}
    {"shipment_id":"s2","seq":0,"mass_kg":10.0,"note":null}
    """
    present = set(frame.columns)
    selected = frame.select(
        [pl.col(c) if c in present else pl.lit(None, dtype=pl.String).alias(c) for c in columns]
    ).sort(list(sort_by), maintain_order=True)
    return _canonical_columns(selected).write_ndjson().encode()


def sha256_hex(*parts: bytes) -> str:
    r"""SHA-256 (hex) of ``parts`` joined by the separator ``b"\n--\n"``.

    Parameters
    ----------
    *parts : bytes
        The byte strings to hash, in order (e.g. the chain lines, then the references).

    Returns
    -------
    str
        64 lowercase hexadecimal characters.

    Examples
    --------
    >>> import hashlib
    >>> sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    True
    >>> sha256_hex(b"a", b"b") == hashlib.sha256(b"a\n--\nb").hexdigest()
    True
    """
    digest = hashlib.sha256()
    for i, part in enumerate(parts):
        if i:
            digest.update(_SEPARATOR)
        digest.update(part)
    return digest.hexdigest()


def record_sha256(fields: dict[str, Any]) -> str:
    """The hash that seals one record: SHA-256 of the canonical JSON of its sealed fields.

    The fields are :data:`SEALED_FIELDS`, or :data:`SEALED_FIELDS_V2` when
    ``fields["seal_format"]`` is 2. Fields outside that list do not enter the hash.

    Parameters
    ----------
    fields : dict of str to Any
        The record's fields, including ``prev_sha256`` (the previous record's hash, or
        :data:`GENESIS`).

    Returns
    -------
    str
        SHA-256, 64 hexadecimal characters.

    Raises
    ------
    ValueError
        If the seal format is not 1 or 2, or a sealed field is missing.

    Examples
    --------
    >>> import hashlib
    >>> fields = {name: 0 for name in SEALED_FIELDS}
    >>> record_sha256(fields) == hashlib.sha256(canonical_json(fields)).hexdigest()
    True
    >>> record_sha256({"tenant": "t1"})
    Traceback (most recent call last):
    ...
    ValueError: audit record lacks sealed fields [...]

    References
    ----------
    .. [1] NIST FIPS 180-4, Secure Hash Standard (SHA-256), 2015.
    .. [2] ISO 14083:2023, clause 5 (quantification of transport chain emissions): the sealed
       inputs, factors and outputs are those of that calculation, so any later change of them
       is detectable.
    """
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
    """The ``digests`` document of a format-2 record (stored as canonical JSON).

    Parameters
    ----------
    chain : dict of str to str
        Column name -> column digest (:func:`greenstream.seal.digest.column_digest`) of the stored
        chain elements.
    shipments : dict of str to str
        Column name -> column digest of the stored shipments.
    references_json : str
        Canonical JSON of the TOCs / HOCs / trips the batch used; its SHA-256 is recorded.
    chunks_sha256 : str
        :func:`greenstream.seal.digest.bytes_sha256` of the stored chunk bytes.
    chunk_count : int
        Number of stored chunks.

    Returns
    -------
    dict of str to Any
        Keys ``chain``, ``shipments``, ``references_sha256``, ``chunks_sha256``, ``chunk_count``.
    """
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
    """SHA-256 of the canonical JSON of the input column digests and the references' hash.

    Parameters
    ----------
    digests : dict of str to Any
        A document from :func:`seal_v2_digests`.
    input_columns : tuple of str
        The chain-element input columns (all present in ``digests["chain"]``).

    Returns
    -------
    str
        The record's ``inputs_sha256`` (seal format 2).

    Examples
    --------
    >>> import hashlib
    >>> d = seal_v2_digests({"mass_kg": "a" * 64}, {}, "[]", "c" * 64, 1)
    >>> doc = {"chain": {"mass_kg": "a" * 64}, "references_sha256": d["references_sha256"]}
    >>> inputs_sha256_v2(d, ("mass_kg",)) == hashlib.sha256(canonical_json(doc)).hexdigest()
    True
    """
    doc = {
        "chain": _part(digests, input_columns),
        "references_sha256": digests["references_sha256"],
    }
    return hashlib.sha256(canonical_json(doc)).hexdigest()


def outputs_sha256_v2(digests: dict[str, Any], output_columns: tuple[str, ...]) -> str:
    """SHA-256 of the canonical JSON of the output column digests and the shipment digests.

    Parameters
    ----------
    digests : dict of str to Any
        A document from :func:`seal_v2_digests`.
    output_columns : tuple of str
        The chain-element output columns (all present in ``digests["chain"]``).

    Returns
    -------
    str
        The record's ``outputs_sha256`` (seal format 2).
    """
    doc = {"chain": _part(digests, output_columns), "shipments": digests["shipments"]}
    return hashlib.sha256(canonical_json(doc)).hexdigest()
