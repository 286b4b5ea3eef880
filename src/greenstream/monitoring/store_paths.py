"""Where the store keeps the accepted telemetry records (the archive beside the database).

The database holds the ingest state (checkpoints, keys, watermarks, aggregates, quarantine);
the records themselves are a Parquet dataset, one file per committed batch and record type,
beside it. Every ingest path (files, HTTP, MQTT, NATS) writes there by default, and
``greenstream trace`` reads there, so a trace sees whatever any source stored.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from greenstream.settings import home_dir

ARCHIVE_ENV = "GREENSTREAM_TELEMETRY_ARCHIVE"


def default_archive_dir(database_url: str | None) -> Path:
    """``$GREENSTREAM_TELEMETRY_ARCHIVE``, else ``<db file>.telemetry/`` next to a SQLite
    store, else ``$GREENSTREAM_HOME/telemetry/<host>-<database>/`` for a server database.

    Parameters
    ----------
    database_url : str or None
        The store's SQLAlchemy URL; the configured one when None.

    Returns
    -------
    Path
        The directory that archives the raw telemetry batches.
    """
    configured = os.environ.get(ARCHIVE_ENV)
    if configured:
        return Path(configured)
    from greenstream.store.db import database_url as resolve

    url = resolve(database_url)
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        db_file = Path(url.removeprefix("sqlite:///"))
        return db_file.with_name(db_file.name + ".telemetry")
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{parsed.host or 'local'}-{parsed.database or ''}")
    return home_dir() / "telemetry" / name
