"""Telemetry ingestion, one concern per module.

- :mod:`.decode`: bytes or tables (NDJSON, Arrow IPC, Parquet, CSV) into the wire schema;
- :mod:`.identity`: identity keys, the committed-keys index, per-device watermarks;
- :mod:`.checks`: validation and the GPS jump check;
- :mod:`.commit`: the store writes of one batch's transaction;
- :mod:`.archive`: accepted records as Parquet, read back for traces and intensities;
- :mod:`.ingestor`: :class:`Ingestor`, which runs a batch through all of them.
"""

from greenstream.monitoring.ingest.archive import read_archive, write_archive
from greenstream.monitoring.ingest.checks import check_constants, physical_limits, validate
from greenstream.monitoring.ingest.decode import (
    HI,
    LO,
    POS,
    Decoded,
    conform_wire,
    decode_arrow_ipc,
    decode_ndjson,
    decode_parquet,
    decode_payload,
    parse_ts,
)
from greenstream.monitoring.ingest.identity import DedupeIndex, KeyStore, Watermarks, with_keys
from greenstream.monitoring.ingest.ingestor import (
    BatchResult,
    IngestHooks,
    Ingestor,
    IngestSettings,
    RunSummary,
    last_fixes,
)

__all__ = [
    "HI",
    "LO",
    "POS",
    "BatchResult",
    "Decoded",
    "DedupeIndex",
    "IngestHooks",
    "IngestSettings",
    "Ingestor",
    "KeyStore",
    "RunSummary",
    "Watermarks",
    "check_constants",
    "conform_wire",
    "decode_arrow_ipc",
    "decode_ndjson",
    "decode_parquet",
    "decode_payload",
    "last_fixes",
    "parse_ts",
    "physical_limits",
    "read_archive",
    "validate",
    "with_keys",
    "write_archive",
]
