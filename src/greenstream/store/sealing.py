"""What of a stored upload batch is sealed, and how its content hashes are formed.

The contract between the writer (:mod:`greenstream.services.upload`, which seals a batch in the
transaction that stores it) and the verifier (:mod:`greenstream.audit.verify`, which recomputes
the seal from what it reads back). The hashing rules themselves are in :mod:`greenstream.seal`;
this module names the stored columns, their digest dtypes and their order.

Seal format 2 (new records): column digests of the chain elements (in stored order) and of the
stored shipment rows (by shipment id), plus the SHA-256 of the references and of the chunk
bytes. Seal format 1 (records sealed before revision 0400; verify only): canonical JSON lines.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa

from greenstream.seal.chain import frame_lines, seal_v2_digests, sha256_hex
from greenstream.seal.digest import bytes_sha256, dtype_tag, table_digests
from greenstream.store.chunks import CHAIN_COLUMNS, CHAIN_SCHEMA
from greenstream.store.models import (
    CHAIN_INPUT_COLUMNS,
    CHAIN_OUTPUT_COLUMNS,
    CHAIN_PARTY_COLUMNS,
    SHIPMENT_DEFAULT_COLUMNS,
    SHIPMENT_LABEL_COLUMNS,
    SHIPMENT_OUTPUT_COLUMNS,
    SHIPMENT_PARTY_COLUMNS,
    SHIPMENT_PERIOD_COLUMNS,
)

# the shipment row as stored (besides tenant_id / audit_seq), in COPY order; sealed (format 2)
# with these digest dtypes
SHIPMENT_SEALED_COLUMNS: dict[str, str] = {
    "shipment_id": "string",
    "pf_id": "uuid",
    "created_at": "timestamp_us",
    "chunk_no": "int32",
    "chunk_row": "int32",
    "tce_count": "int32",
    **{
        c: "float64"
        for c in SHIPMENT_OUTPUT_COLUMNS
        if c not in ("pf_id", "tce_count", *SHIPMENT_LABEL_COLUMNS)
    },
    **dict.fromkeys(SHIPMENT_LABEL_COLUMNS, "string"),
    **dict.fromkeys(SHIPMENT_PERIOD_COLUMNS, "timestamp_us"),
    **dict.fromkeys(SHIPMENT_PARTY_COLUMNS, "string"),
    **dict.fromkeys(SHIPMENT_DEFAULT_COLUMNS, "float64"),
}
# the shipment columns records sealed before revision 1400 cover (no WTW on defaults; the
# migration filled it from the stored chains, and verify recomputes it)
SHIPMENT_SEALED_COLUMNS_1300: dict[str, str] = {
    c: d for c, d in SHIPMENT_SEALED_COLUMNS.items() if c not in SHIPMENT_DEFAULT_COLUMNS
}
# the shipment columns records sealed before revision 1300 cover (no parties)
SHIPMENT_SEALED_COLUMNS_0600: dict[str, str] = {
    c: d for c, d in SHIPMENT_SEALED_COLUMNS_1300.items() if c not in SHIPMENT_PARTY_COLUMNS
}
# the shipment columns records sealed before revision 0600 cover (no reference period either)
SHIPMENT_SEALED_COLUMNS_0400: dict[str, str] = {
    c: d for c, d in SHIPMENT_SEALED_COLUMNS_0600.items() if c not in SHIPMENT_PERIOD_COLUMNS
}
CHAIN_SEALED_COLUMNS: dict[str, str] = {c: dtype_tag(CHAIN_SCHEMA[c]) for c in CHAIN_COLUMNS}
# the inputs a record seals: with the parties since revision 1300, without them before
CHAIN_INPUT_KEYS = ("shipment_id", "seq", *CHAIN_INPUT_COLUMNS, *CHAIN_PARTY_COLUMNS)
CHAIN_INPUT_KEYS_0400 = ("shipment_id", "seq", *CHAIN_INPUT_COLUMNS)
CHAIN_OUTPUT_KEYS = ("shipment_id", "seq", *CHAIN_OUTPUT_COLUMNS)


def column_digests(
    chain: pl.DataFrame | pa.Table, ships: pl.DataFrame
) -> tuple[dict[str, str], dict[str, str]]:
    """Format-2 column digests of a batch's chain elements (stored order) and shipment rows
    (sorted by shipment id).

    Parameters
    ----------
    chain : polars.DataFrame or pyarrow.Table
        The batch's chain elements, in stored order (the Arrow form of
        :func:`greenstream.store.chunks.chain_table` is read without a conversion per column).
    ships : polars.DataFrame
        The stored shipment rows, by shipment id.

    Returns
    -------
    tuple of dict
        Column name to its SHA-256 (hex), for the chain and the shipments.

    References
    ----------
    NIST FIPS 180-4, Secure Hash Standard (SHA-256).
    """
    return (
        table_digests(chain, CHAIN_SEALED_COLUMNS),
        table_digests(ships, SHIPMENT_SEALED_COLUMNS),
    )


def digests_document(
    chain_digests: dict[str, str],
    ship_digests: dict[str, str],
    references_json: str,
    chunks: list[bytes],
) -> dict[str, Any]:
    """The format-2 ``digests`` document from the column digests, references and chunk bytes.

    Parameters
    ----------
    chain_digests, ship_digests : dict of str to str
        The column digests (:func:`column_digests`).
    references_json : str
        The sealed references JSON.
    chunks : list of bytes
        The stored chunks.

    Returns
    -------
    dict
        The ``digests`` document.
    """
    return seal_v2_digests(
        chain=chain_digests,
        shipments=ship_digests,
        references_json=references_json,
        chunks_sha256=bytes_sha256(chunks),
        chunk_count=len(chunks),
    )


def seal_digests(
    chain: pl.DataFrame, ships: pl.DataFrame, references_json: str, chunks: list[bytes]
) -> dict[str, Any]:
    """The format-2 ``digests`` document of a batch: column digests of the chain elements (in
    stored order) and of the stored shipment rows (by shipment id), hashes of the references and
    of the chunk bytes (what the upload seals; a verifier or a test re-derives it).

    Parameters
    ----------
    chain : polars.DataFrame
        The batch's chain elements, in stored order.
    ships : polars.DataFrame
        The stored shipment rows, by shipment id.
    references_json : str
        The sealed references JSON.
    chunks : list of bytes
        The stored chunks.

    Returns
    -------
    dict
        The ``digests`` document.

    References
    ----------
    NIST FIPS 180-4, Secure Hash Standard (SHA-256).
    """
    chain_digests, ship_digests = column_digests(chain, ships.sort("shipment_id"))
    return digests_document(chain_digests, ship_digests, references_json, chunks)


def inputs_sha256(chain: pl.DataFrame, references_json: str) -> str:
    """Seal format 1 inputs hash (records sealed before format 2; verify only).

    Parameters
    ----------
    chain : polars.DataFrame
        The batch's chain elements, in stored order.
    references_json : str
        The sealed references JSON.

    Returns
    -------
    str
        SHA-256, hex.
    """
    lines = frame_lines(chain, ("shipment_id", "seq", *CHAIN_INPUT_COLUMNS), ("shipment_id", "seq"))
    return sha256_hex(lines, references_json.encode())


def outputs_sha256(chain: pl.DataFrame, shipments: pl.DataFrame) -> str:
    """Seal format 1 outputs hash (records sealed before format 2; verify only).

    Parameters
    ----------
    chain : polars.DataFrame
        The batch's chain elements, in stored order.
    shipments : polars.DataFrame
        The batch's shipments.

    Returns
    -------
    str
        SHA-256, hex.
    """
    tce_lines = frame_lines(
        chain, ("shipment_id", "seq", *CHAIN_OUTPUT_COLUMNS), ("shipment_id", "seq")
    )
    ship_lines = frame_lines(shipments, ("shipment_id", *SHIPMENT_OUTPUT_COLUMNS), ("shipment_id",))
    return sha256_hex(tce_lines, ship_lines)
