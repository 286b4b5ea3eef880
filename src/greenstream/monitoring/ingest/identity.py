"""Record identity, the committed-keys index and the per-device watermarks of the dedupe horizon.

**Identity**: ``record_id`` when given, else ``(record_type, source, device, ts)``. The text part
(``id|<record_id>`` or ``<type>|<source>|<device>``) is hashed twice with two independent,
stable 64-bit hashes (xxh3-64 and xxhash64 through ``polars-hash``, the same in every process and
library version) and the timestamp is mixed in as a number: two keys, 128 bits, so a false
"duplicate" is out of reach (about ``n**2 / 2**129`` pairs).

**Index**: every committed key, bucketed by the hour of its record's ``ts`` so keys older than
the retention can be dropped whole; each bucket is a few sorted numpy runs merged as they grow.

**Watermarks**: the newest committed ``ts`` of each device per record type. A record more than
the dedupe horizon older than its own device's watermark is ``too_late``: it can no longer be
proven unique. Per device, so a backfill can come in any file order: a fuel file after a GPS
file that ends days later is judged against the fuel records of the same vehicle, not against
the newest GPS fix of the fleet. Keys are kept for the backfill window (``checks.csv``), the
most a device may lag the newest record in the store; a record older than that is too late too.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
import polars_hash as plh

from greenstream.monitoring.ingest.decode import HI, LO, POS, json_without_nulls
from greenstream.monitoring.records import DEVICE_FIELD, RECORD_TYPES, TS_DTYPE

U64 = npt.NDArray[np.uint64]
US_PER_HOUR: Final = 3_600_000_000
NO_TS_BUCKET: Final = -1  # keys of records without a ts (no horizon applies to them)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def u64(series: pl.Series) -> U64:
    """A Polars integer column as a numpy uint64 array.

    Parameters
    ----------
    series : polars.Series
        An integer column (any width; negative values wrap as in a cast to ``UInt64``).

    Returns
    -------
    numpy.ndarray
        The values as ``uint64``.

    Examples
    --------
    >>> import polars as pl
    >>> u64(pl.Series([1, 2, 3])).tolist()
    [1, 2, 3]
    """
    return series.cast(pl.UInt64).to_numpy().astype(np.uint64, copy=False)


def epoch_us(ts: datetime) -> int:
    """Microseconds since the epoch (naive = UTC, as the store returns it), exact.

    Parameters
    ----------
    ts : datetime.datetime
        An instant; a naive one is read as UTC.

    Returns
    -------
    int
        Microseconds since 1970-01-01T00:00:00Z (integer arithmetic, no float rounding).

    Examples
    --------
    >>> from datetime import datetime
    >>> epoch_us(datetime(1970, 1, 1, 0, 0, 1))
    1000000
    """
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


def from_epoch_us(us: int) -> datetime:
    """A UTC datetime from microseconds since the epoch (exact, no float).

    Parameters
    ----------
    us : int
        Microseconds since 1970-01-01T00:00:00Z.

    Returns
    -------
    datetime.datetime
        The instant, timezone-aware (UTC); the inverse of :func:`epoch_us`.

    Examples
    --------
    >>> from_epoch_us(1_500_000).isoformat()
    '1970-01-01T00:00:01.500000+00:00'
    """
    return _EPOCH + timedelta(microseconds=us)


def single_type(frame: pl.DataFrame) -> str | None:
    """The record type of every row when the frame holds one known type only, else None.

    Parameters
    ----------
    frame : polars.DataFrame
        Records with a ``record_type`` column.

    Returns
    -------
    str or None
        The one record type (one of ``RECORD_TYPES``), or None when the frame is empty, holds
        a null, an unknown type or several types.

    Examples
    --------
    >>> import polars as pl
    >>> single_type(pl.DataFrame({"record_type": ["gps", "gps"]}))
    'gps'
    >>> single_type(pl.DataFrame({"record_type": ["gps", "fuel"]})) is None
    True
    """
    types = frame.get_column("record_type")
    if types.len() == 0 or types.null_count():
        return None
    first = types[0]
    if first not in RECORD_TYPES or not (types == first).all():
        return None
    return str(first)


def device_expr(record_type: str | None) -> pl.Expr:
    """The device field of each row (one column when the frame has one record type).

    Parameters
    ----------
    record_type : str or None
        The frame's one record type (see :func:`single_type`), or None for a mixed frame:
        then each row takes the device field of its own ``record_type``.

    Returns
    -------
    polars.Expr
        The device identifier of each row (``DEVICE_FIELD`` names the column per type).
    """
    if record_type is not None:
        return pl.col(DEVICE_FIELD[record_type])
    return pl.coalesce(
        [pl.when(pl.col("record_type") == t).then(pl.col(DEVICE_FIELD[t])) for t in RECORD_TYPES]
    )


def horizon_device_expr(record_type: str | None) -> pl.Expr:
    """The device whose watermark judges each row's dedupe horizon: the device that recorded it.

    For GPS, fuel, charge and meter records that is the record's device field
    (:data:`~greenstream.monitoring.records.DEVICE_FIELD`). A scan's device field is its
    waybill, which is no device: one waybill is scanned by the scanners of several hubs and
    vehicles over days, and each of those feeds may lag on its own. A scan is judged against the
    scanner's place instead: ``hub:<hub_id>`` when it was scanned at a hub, else
    ``vehicle:<vehicle_id>`` (the prefixes keep a hub and a vehicle of the same name apart).

    Parameters
    ----------
    record_type : str or None
        The frame's one record type (see :func:`single_type`), or None for a mixed frame.

    Returns
    -------
    polars.Expr
        The horizon device of each row (``String``; null when the row names none).

    Examples
    --------
    >>> import polars as pl
    >>> scans = pl.DataFrame({"hub_id": ["H1", None], "vehicle_id": ["T1", "T2"]})
    >>> scans.select(horizon_device_expr("scan")).to_series().to_list()
    ['hub:H1', 'vehicle:T2']
    """

    def of(t: str) -> pl.Expr:
        if t != "scan":
            return pl.col(DEVICE_FIELD[t]).cast(pl.String)
        return pl.coalesce(
            pl.concat_str(pl.lit("hub:"), pl.col("hub_id").cast(pl.String)),
            pl.concat_str(pl.lit("vehicle:"), pl.col("vehicle_id").cast(pl.String)),
        )

    if record_type is not None:
        return of(record_type)
    return pl.coalesce([pl.when(pl.col("record_type") == t).then(of(t)) for t in RECORD_TYPES])


def identity_text(default_source: str, record_type: str | None = None) -> pl.Expr:
    """The text part of a record's identity: ``id|<record_id>`` or ``<type>|<source>|<device>``
    (the timestamp is mixed into the keys as a number, see :func:`with_keys`).

    Parameters
    ----------
    default_source : str
        The source named for rows whose ``source`` is null.
    record_type : str or None, optional
        The frame's one record type, or None for a mixed frame (see :func:`device_expr`).

    Returns
    -------
    polars.Expr
        The identity text of each row.
    """
    fallback = pl.concat_str(
        pl.col("record_type").fill_null(""),
        pl.col("source").fill_null(default_source),
        device_expr(record_type).fill_null(""),
        separator="|",
    )
    return (
        pl.when(pl.col("record_id").is_not_null())
        .then(pl.concat_str(pl.lit("id|"), pl.col("record_id")))
        .otherwise(fallback)
    )


def _text_hashes(texts: pl.DataFrame) -> tuple[U64, U64]:
    """xxh3-64 and xxhash64 of the frame's one text column (stable across processes)."""
    name = texts.columns[0]
    hashes = texts.select(
        plh.col(name).nchash.xxh3_64().alias("h1"), plh.col(name).nchash.xxhash64().alias("h2")
    )
    return u64(hashes["h1"]), u64(hashes["h2"])


_MIX_1 = np.uint64(0xFF51AFD7ED558CCD)  # MurmurHash3 fmix64 constants (Appleby, public domain)
_MIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio, the usual odd multiplier


def fmix64(x: U64) -> U64:
    """MurmurHash3's 64-bit finaliser: a bijection of uint64 with full avalanche.

    Parameters
    ----------
    x : numpy.ndarray
        ``uint64`` values (multiplication wraps modulo 2**64).

    Returns
    -------
    numpy.ndarray
        The mixed values, ``uint64``.

    References
    ----------
    .. [1] A. Appleby, "MurmurHash3", SMHasher, ``fmix64`` (public domain).

    Examples
    --------
    >>> import numpy as np
    >>> fmix64(np.array([0], dtype=np.uint64)).tolist()
    [0]
    >>> len(set(fmix64(np.arange(1000, dtype=np.uint64)).tolist()))
    1000
    """
    shift = np.uint64(33)
    x = x ^ (x >> shift)
    x *= _MIX_1
    x ^= x >> shift
    x *= _MIX_2
    x ^= x >> shift
    return x


def mixed_keys(h1: U64, h2: U64, t: U64) -> tuple[U64, U64]:
    """``hi`` and ``lo`` from the two text hashes and ``ts_us`` (see :func:`with_keys`).

    Parameters
    ----------
    h1, h2 : numpy.ndarray
        The xxh3-64 and xxhash64 hashes of each record's identity text, ``uint64``.
    t : numpy.ndarray
        Each record's ``ts`` in microseconds since the epoch (0 for a ``record_id``),
        ``uint64``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(hi, lo)``, the two 64-bit identity keys of each record.
    """
    with np.errstate(over="ignore"):
        return fmix64(h1 ^ fmix64(t)), fmix64(h2 + t * _GOLDEN)


def batch_codes(values: pl.Series) -> tuple[pl.Series, npt.NDArray[np.uint32]]:
    """Integer codes of a text column through a dictionary of this column's values only (codes
    0 .. k-1 for k distinct values; Polars without ``pl.Categories`` uses its global string
    cache, whose codes need not be dense).

    Parameters
    ----------
    values : polars.Series
        Text values (``String``).

    Returns
    -------
    tuple
        ``(coded, codes)``: the values as a ``Categorical`` Series and their codes (``uint32``).

    Examples
    --------
    >>> import polars as pl
    >>> coded, codes = batch_codes(pl.Series(["b", "a", "b"]))
    >>> codes.tolist(), coded.cast(pl.String).to_list()
    ([0, 1, 0], ['b', 'a', 'b'])
    """
    categories = getattr(pl, "Categories", None)
    dtype = pl.Categorical(categories.random()) if categories is not None else pl.Categorical
    coded = values.cast(dtype)
    return coded, coded.to_physical().to_numpy().astype(np.uint32, copy=False)


def _device_hashes(frame: pl.DataFrame, default_source: str) -> tuple[U64, U64] | None:
    """The two text hashes of every row when each row's identity text is
    ``<type>|<default source>|<device>`` (one record type, no ``record_id``, no ``source``, a
    device and a ``ts`` on every row): hashed once per distinct device and gathered to the rows
    through the device's code in a batch-local dictionary. None otherwise."""
    rtype = single_type(frame)
    n = frame.height
    if (
        rtype is None
        or n == 0
        or frame.get_column("record_id").null_count() < n
        or frame.get_column("source").null_count() < n
        or frame.get_column("ts").null_count()
    ):
        return None
    device = frame.get_column(DEVICE_FIELD[rtype])
    if device.null_count() or device.dtype != pl.String:
        return None
    coded, codes = batch_codes(device)
    k = int(codes.max()) + 1
    if 4 * k > n:  # about as many devices as rows (waybills): hashing every row is no dearer
        return None
    distinct = coded.unique()
    text = pl.concat_str(pl.lit(f"{rtype}|{default_source}|"), distinct.cast(pl.String))
    h1, h2 = _text_hashes(pl.select(text.alias("t")))
    by_code_1 = np.zeros(k, dtype=np.uint64)
    by_code_2 = np.zeros(k, dtype=np.uint64)
    slots = distinct.to_physical().to_numpy()
    by_code_1[slots], by_code_2[slots] = h1, h2
    return by_code_1[codes], by_code_2[codes]


def _incomplete_identity(frame: pl.DataFrame) -> pl.Expr | None:
    """Rows whose fallback identity lacks its ts or device (None when there are none)."""
    rtype = single_type(frame)
    if (
        rtype is not None
        and frame.get_column("ts").null_count() == 0
        and frame.get_column(DEVICE_FIELD[rtype]).null_count() == 0
    ):
        return None
    expr = pl.col("record_id").is_null() & (pl.col("ts").is_null() | device_expr(rtype).is_null())
    if not frame.select(expr.any()).item():
        return None
    return expr


def with_keys(frame: pl.DataFrame, default_source: str) -> pl.DataFrame:
    """Add the two 64-bit identity keys ``_key_hi`` and ``_key_lo``.

    ``hi = fmix64(xxh3_64(text) ^ fmix64(ts_us))`` and ``lo = fmix64(xxhash64(text) + ts_us x
    golden)``, with ``ts_us = 0`` for records identified by ``record_id``. For one device ``hi``
    is a bijection of the timestamp, so two fixes of a device never share a key. A record with
    neither ``record_id`` nor its ``ts`` or device is identified by its whole content, so
    distinct incomplete records stay distinct and a resent one is still recognised. When every
    row's text is ``<type>|<source>|<device>`` the texts are hashed once per device.

    Parameters
    ----------
    frame : polars.DataFrame
        Decoded records (``record_type``, ``source``, ``record_id``, ``ts`` and the device
        fields).
    default_source : str
        The source named for rows whose ``source`` is null.

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``_key_hi`` and ``_key_lo`` (``UInt64``) added.

    References
    ----------
    .. [1] Y. Collet, "xxHash", https://github.com/Cyan4973/xxHash (xxh3-64, xxhash64).
    .. [2] A. Appleby, "MurmurHash3", SMHasher, ``fmix64``.
    """
    per_device = _device_hashes(frame, default_source)
    if per_device is not None:
        h1, h2 = per_device
    else:
        with_text = frame.with_columns(
            identity_text(default_source, single_type(frame)).alias("__identity")
        )
        incomplete = _incomplete_identity(with_text)
        if incomplete is not None:
            content = json_without_nulls(pl.struct(pl.exclude("__identity", POS, "_cell")))
            with_text = with_text.with_columns(
                pl.when(incomplete)
                .then(pl.concat_str(pl.lit("content|"), content))
                .otherwise(pl.col("__identity"))
                .alias("__identity")
            )
        h1, h2 = _text_hashes(with_text.select("__identity"))
    t = frame.select(
        pl.when(pl.col("record_id").is_null())
        .then(pl.col("ts").dt.epoch("us"))
        .otherwise(0)
        .fill_null(0)
        .cast(pl.UInt64)
    ).to_series()
    hi, lo = mixed_keys(h1, h2, u64(t))
    return frame.with_columns(pl.Series(HI, hi), pl.Series(LO, lo))


def keys_of_text(text: pl.Series) -> tuple[U64, U64]:
    """Identity keys of records known only by their text (lines that did not decode).

    Parameters
    ----------
    text : polars.Series
        The raw text of each record (``String``).

    Returns
    -------
    tuple of numpy.ndarray
        ``(hi, lo)`` for each line, with ``ts_us = 0``.
    """
    h1, h2 = _text_hashes(text.rename("t").to_frame())
    return mixed_keys(h1, h2, np.zeros(len(text), dtype=np.uint64))


def _contains_sorted(run_hi: U64, run_lo: U64, q_hi: U64, q_lo: U64) -> npt.NDArray[np.bool_]:
    """Whether each probe (any order) is in one sorted run, matching both keys: one binary search
    per probe finds the first key with its ``hi``; only a probe whose ``hi`` is there with
    another ``lo`` (equal ``hi`` values, about ``n**2 / 2**65`` pairs) compares the rest of them."""
    found = np.zeros(len(q_hi), dtype=bool)
    if len(run_hi) == 0 or len(q_hi) == 0:
        return found
    left = np.searchsorted(run_hi, q_hi, side="left")
    at = np.minimum(left, len(run_hi) - 1)
    same_hi: npt.NDArray[np.bool_] = run_hi[at] == q_hi
    found = same_hi & np.equal(run_lo[at], q_lo)
    for i in np.flatnonzero(same_hi & ~found):
        right = np.searchsorted(run_hi, q_hi[i], side="right")
        found[i] = bool(np.any(run_lo[left[i] : right] == q_lo[i]))
    return found


Run = tuple[U64, U64]  # one sorted run of keys: (hi ascending, lo in the same order)


def cascade_start(sizes: list[int]) -> int:
    """Where the merge cascade of a bucket's runs starts: the runs from this index to the last
    merge into one. The rule is a binary counter's carry: the last run is merged into the one
    before it while it is at least half that one's size, so each key is merged O(log n) times.

    Parameters
    ----------
    sizes : list of int
        The number of keys of each run, oldest first (count).

    Returns
    -------
    int
        The index of the first run to merge; ``len(sizes) - 1`` (or 0 for no run) when no merge
        is due.

    Examples
    --------
    >>> cascade_start([8, 4, 2, 2])  # 2+2 carry into 4, then 8 into 16
    0
    >>> cascade_start([8, 4, 1])
    2
    """
    if not sizes:
        return 0
    start, carried = len(sizes) - 1, sizes[-1]
    while start >= 1 and carried * 2 >= sizes[start - 1]:
        start -= 1
        carried += sizes[start]
    return start


def merge_runs(runs: list[Run]) -> Run:
    """One sorted run from several: numpy's stable sort (timsort) finds the sorted runs in the
    concatenation and merges them, O(n log k) for k runs.

    Parameters
    ----------
    runs : list of tuple of numpy.ndarray
        Sorted ``(hi, lo)`` runs.

    Returns
    -------
    tuple of numpy.ndarray
        Their keys as one run sorted by ``hi``.

    Examples
    --------
    >>> import numpy as np
    >>> a = (np.array([1, 4], dtype=np.uint64), np.array([10, 40], dtype=np.uint64))
    >>> b = (np.array([2, 3], dtype=np.uint64), np.array([20, 30], dtype=np.uint64))
    >>> [x.tolist() for x in merge_runs([a, b])]
    [[1, 2, 3, 4], [10, 20, 30, 40]]
    """
    if len(runs) == 1:
        return runs[0]
    both_hi = np.concatenate([h for h, _ in runs])
    both_lo = np.concatenate([lo for _, lo in runs])
    order = np.argsort(both_hi, kind="stable")
    return both_hi[order], both_lo[order]


def compacted(runs: list[Run]) -> list[Run]:
    """The runs after the merge cascade (:func:`cascade_start`) has run on them.

    Parameters
    ----------
    runs : list of tuple of numpy.ndarray
        Sorted ``(hi, lo)`` runs, oldest first.

    Returns
    -------
    list of tuple of numpy.ndarray
        The same keys, the cascade's runs merged into one (the list itself when none is due).
    """
    start = cascade_start([len(h) for h, _ in runs])
    if start >= len(runs) - 1:
        return runs
    return [*runs[:start], merge_runs(runs[start:])]


class DedupeIndex:
    """A set of (hi, lo) keys as sorted numpy runs: a run is merged into the one before it while
    it is at least half its size (a small log-structured merge, :func:`cascade_start`), so adding
    costs amortised O(n log n) and a probe one binary search per run."""

    def __init__(self) -> None:
        # the sorted runs, oldest first; a list is replaced whole, never changed in place (a
        # background merge compares its runs with these by identity)
        self.runs: list[Run] = []

    @property
    def size(self) -> int:
        """The number of keys held (count)."""
        return sum(len(h) for h, _ in self.runs)

    def add(self, hi: U64, lo: U64, *, presorted: bool = False) -> None:
        """Add keys and run the merge cascade now; ``presorted``: ``hi`` is already ascending.

        Parameters
        ----------
        hi, lo : numpy.ndarray
            The two identity keys of each record, ``uint64``, the same length.
        presorted : bool, optional
            True when ``hi`` is already ascending (``lo`` in the same order): no sort.

        Examples
        --------
        >>> import numpy as np
        >>> index = DedupeIndex()
        >>> index.add(np.array([3, 1], dtype=np.uint64), np.array([30, 10], dtype=np.uint64))
        >>> index.contains(
        ...     np.array([1, 1, 2], dtype=np.uint64), np.array([10, 11, 20], dtype=np.uint64)
        ... ).tolist()
        [True, False, False]
        """
        self.runs = compacted(self.runs_after(hi, lo, presorted=presorted))

    def runs_after(self, hi: U64, lo: U64, *, presorted: bool = False) -> list[Run]:
        """The runs this index would hold after these keys are added as a run of their own, not
        merged (the index itself is left as it is).

        Parameters
        ----------
        hi, lo : numpy.ndarray
            The two identity keys of each record, ``uint64``, the same length.
        presorted : bool, optional
            True when ``hi`` is already ascending (``lo`` in the same order): no sort.

        Returns
        -------
        list of tuple of numpy.ndarray
            The sorted ``(hi, lo)`` runs, the new one last.
        """
        if len(hi) == 0:
            return list(self.runs)
        if not presorted:
            order = np.argsort(hi)
            hi, lo = hi[order], lo[order]
        return [*self.runs, (hi, lo)]

    def contains(self, hi: U64, lo: U64) -> npt.NDArray[np.bool_]:
        """Whether each probe key (any order) is held, matching both keys.

        Parameters
        ----------
        hi, lo : numpy.ndarray
            The two identity keys of each probe, ``uint64``.

        Returns
        -------
        numpy.ndarray
            A boolean per probe.
        """
        found = np.zeros(len(hi), dtype=bool)
        for run_hi, run_lo in self.runs:
            found |= _contains_sorted(run_hi, run_lo, hi, lo)
        return found


@dataclass
class BatchKeys:
    """The identity keys of a batch's records, sorted once by ``hi`` and reused for the in-batch
    dedupe, the index probe, the index insert and the stored segments.

    ``row``: the frame row of each key; ``bucket``: the hour of its record's ``ts``
    (:data:`NO_TS_BUCKET` without one); ``ts_us``: its ``ts`` (0 without one); ``any_bucket``: its
    identity does not contain its ``ts`` (a ``record_id``), so a copy may sit in any bucket.
    """

    hi: U64
    lo: U64
    row: npt.NDArray[np.intp]
    bucket: npt.NDArray[np.int64]
    ts_us: npt.NDArray[np.int64]
    any_bucket: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, frame: pl.DataFrame) -> BatchKeys:
        """Keys of a keyed frame (``_key_hi``, ``_key_lo``, ``ts``, optional ``record_id``).

        Parameters
        ----------
        frame : polars.DataFrame
            A frame keyed by :func:`with_keys`.

        Returns
        -------
        BatchKeys
            The keys sorted by ``hi``, with their row, hour bucket and ``ts``.
        """
        hi = u64(frame.get_column(HI))
        order = np.argsort(hi)
        ts = frame.get_column("ts")
        ts_us = ts.dt.epoch("us").fill_null(0).to_numpy()[order]
        bucket = ts_us // US_PER_HOUR
        if ts.null_count():
            bucket[ts.is_null().to_numpy()[order]] = NO_TS_BUCKET
        ids = frame.get_column("record_id") if "record_id" in frame.columns else None
        any_bucket = (
            ids.is_not_null().to_numpy()[order]
            if ids is not None and ids.null_count() < len(ids)
            else np.zeros(len(order), dtype=bool)
        )
        return cls(
            hi=hi[order],
            lo=u64(frame.get_column(LO))[order],
            row=order,
            bucket=bucket,
            ts_us=ts_us,
            any_bucket=any_bucket,
        )

    def __len__(self) -> int:
        return len(self.hi)

    def has_equal_hi(self) -> bool:
        """Whether two keys share ``hi`` (then ``lo`` decides whether they are equal)."""
        return bool(np.any(self.hi[1:] == self.hi[:-1]))

    def keep(self, mask: npt.NDArray[np.bool_]) -> BatchKeys:
        """The keys where ``mask`` (in key order) is true; rows renumbered as in a frame
        filtered by the same keys (row order kept).

        Parameters
        ----------
        mask : numpy.ndarray
            A boolean per key, in key (``hi``) order.

        Returns
        -------
        BatchKeys
            The kept keys.
        """
        kept = self.row_mask(mask)
        renumber = np.cumsum(kept) - 1
        return BatchKeys(
            hi=self.hi[mask],
            lo=self.lo[mask],
            row=renumber[self.row[mask]],
            bucket=self.bucket[mask],
            ts_us=self.ts_us[mask],
            any_bucket=self.any_bucket[mask],
        )

    def row_mask(self, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """A mask in key order as a mask in frame row order.

        Parameters
        ----------
        mask : numpy.ndarray
            A boolean per key, in key (``hi``) order.

        Returns
        -------
        numpy.ndarray
            The same booleans in the frame's row order.
        """
        out = np.zeros(len(self.row), dtype=bool)
        out[self.row] = mask
        return out

    def by_bucket(self) -> list[tuple[int, U64, U64, datetime | None, datetime | None]]:
        """(bucket, hi, lo, min ts, max ts) per hour bucket; each part stays sorted by ``hi``."""
        if len(self) == 0:
            return []
        first, last = int(self.bucket.min()), int(self.bucket.max())
        if first == last:
            parts = [np.arange(len(self))]
        else:
            # a stable sort keeps each bucket's keys in key order (a radix sort on 16-bit
            # offsets when the batch spans fewer than 65,535 hours)
            offset = self.bucket - first
            order = np.argsort(
                offset.astype(np.uint16) if last - first < 1 << 16 else offset, kind="stable"
            )
            parts = np.split(order, np.flatnonzero(np.diff(self.bucket[order])) + 1)
        out = []
        for idx in parts:
            bucket = int(self.bucket[idx[0]])
            ts = self.ts_us[idx] if bucket != NO_TS_BUCKET else None
            out.append(
                (
                    bucket,
                    self.hi[idx],
                    self.lo[idx],
                    None if ts is None else from_epoch_us(int(ts.min())),
                    None if ts is None else from_epoch_us(int(ts.max())),
                )
            )
        return out


class KeyStore:
    """Identity keys bucketed by the hour of their record's ``ts``, so keys older than the
    retention can be dropped whole (memory and store stay bounded).

    ``newest_us``: the newest ``ts`` (microseconds since the epoch) of the committed keys whose
    identity holds their ``ts``, per record type (``None``: keys of any type, such as those
    read back from the store). A record of type T with no ``record_id`` whose ``ts`` is later
    than T's newest (and the ``None`` entry) cannot have been committed: its identity holds a
    ``ts`` no committed record of its type has. Such *fresh* keys are not looked up at all, so a
    source in time order costs the probe of the few records at its edge only.

    A committed batch adds its keys to each bucket as a run of their own; the merge cascade
    (:func:`compacted`) runs in the background when :meth:`install` is given an executor, so
    no commit waits for a merge of millions of keys. Until the merged runs are put in place
    (by a later :meth:`install`, and only if the bucket still starts with the runs that were
    merged), probes search the unmerged runs: the same keys."""

    def __init__(self) -> None:
        self.buckets: dict[int, DedupeIndex] = {}
        self.last_segment_id = 0
        self.newest_us: dict[str | None, int] = {}
        # the background merge in flight: the runs it merges, per bucket, and its outcome
        self._compaction: tuple[dict[int, list[Run]], Future[dict[int, list[Run]]]] | None = None

    @property
    def size(self) -> int:
        """The number of keys held, over all buckets (count)."""
        return sum(b.size for b in self.buckets.values())

    def contains(self, hi: U64, lo: U64) -> npt.NDArray[np.bool_]:
        """Whether each key is in any bucket.

        Parameters
        ----------
        hi, lo : numpy.ndarray
            The two identity keys of each probe, ``uint64``.

        Returns
        -------
        numpy.ndarray
            A boolean per probe.
        """
        found = np.zeros(len(hi), dtype=bool)
        for index in self.buckets.values():
            found |= index.contains(hi, lo)
        return found

    def note_newest(self, record_type: str | None, ts_us: int) -> None:
        """Raise the newest committed ``ts`` of a record type (``None``: of any type).

        Parameters
        ----------
        record_type : str or None
            The records' type, or None when it is not known.
        ts_us : int
            The newest ``ts`` of the committed keys, microseconds since the epoch (UTC).
        """
        held = self.newest_us.get(record_type)
        if held is None or ts_us > held:
            self.newest_us[record_type] = ts_us

    def newest_of(self, record_type: str | None) -> int | None:
        """The newest committed ``ts`` a record of this type can share (None: no committed key
        holds a ``ts``); ``record_type`` None: of any type.

        Parameters
        ----------
        record_type : str or None
            One record type, or None for a batch of several.

        Returns
        -------
        int or None
            Microseconds since the epoch (UTC).
        """
        values = [
            v
            for t, v in self.newest_us.items()
            if record_type is None or t is None or t == record_type
        ]
        return max(values) if values else None

    def contains_batch(
        self, keys: BatchKeys, record_type: str | None = None
    ) -> npt.NDArray[np.bool_]:
        """Whether each of a batch's keys was committed. A key whose identity holds its ``ts``
        can only sit in the bucket of that ``ts``, so it is looked up there only, and not at all
        when it is fresh (later than every committed ``ts`` of its type, see the class); a
        ``record_id`` key in every bucket.

        Parameters
        ----------
        keys : BatchKeys
            The batch's keys.
        record_type : str or None, optional
            The type of every record of the batch, or None (several or unknown).

        Returns
        -------
        numpy.ndarray
            A boolean per key, in key order.
        """
        found = np.zeros(len(keys), dtype=bool)
        if len(keys) == 0 or not self.buckets:
            return found
        old = keys.any_bucket | (keys.bucket == NO_TS_BUCKET)
        newest = self.newest_of(record_type)
        if newest is not None:
            old |= keys.ts_us <= newest
        if old.all():
            return self._probe(keys.hi, keys.lo, keys.bucket, keys.any_bucket)
        where = np.flatnonzero(old)
        if len(where):
            found[where] = self._probe(
                keys.hi[where], keys.lo[where], keys.bucket[where], keys.any_bucket[where]
            )
        return found

    def _probe(
        self, hi: U64, lo: U64, bucket: npt.NDArray[np.int64], anywhere: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.bool_]:
        """Look keys up in their own bucket (``anywhere``: in every bucket)."""
        found = np.zeros(len(hi), dtype=bool)
        first, last = int(bucket.min()), int(bucket.max())
        spread = anywhere if bool(anywhere.any()) else None
        for b, index in self.buckets.items():
            if first == last == b:  # every key's own bucket: probe them all
                found |= index.contains(hi, lo)
                continue
            if first <= b <= last:
                probe = bucket == b
                if spread is not None:
                    probe |= spread
            elif spread is not None:
                probe = spread
            else:  # a bucket outside the batch's hours holds none of its keys
                continue
            where = np.flatnonzero(probe)
            if len(where):
                found[where] |= index.contains(hi[where], lo[where])
        return found

    def add(
        self,
        bucket: int,
        hi: U64,
        lo: U64,
        *,
        presorted: bool = False,
        newest_us: int | None = None,
    ) -> None:
        """Add keys to one hour bucket; their newest ``ts`` is noted for any record type.

        Parameters
        ----------
        bucket : int
            Hours since the epoch of the records' ``ts`` (``NO_TS_BUCKET`` without a ts).
        hi, lo : numpy.ndarray
            The two identity keys of each record, ``uint64``.
        presorted : bool, optional
            True when ``hi`` is already ascending.
        newest_us : int, optional
            The newest ``ts`` of the records, microseconds since the epoch (default: the last
            microsecond of the bucket's hour).

        Examples
        --------
        >>> import numpy as np
        >>> keys = KeyStore()
        >>> keys.add(0, np.array([1], dtype=np.uint64), np.array([2], dtype=np.uint64))
        >>> keys.add(5, np.array([3], dtype=np.uint64), np.array([4], dtype=np.uint64))
        >>> keys.evict(cutoff_us=US_PER_HOUR)  # bucket 0 ends at 1 h: dropped
        >>> keys.size
        1
        """
        if len(hi) and bucket != NO_TS_BUCKET:
            end_us = (bucket + 1) * US_PER_HOUR - 1
            self.note_newest(None, end_us if newest_us is None else newest_us)
        self.buckets.setdefault(bucket, DedupeIndex()).add(hi, lo, presorted=presorted)

    def staged(
        self, buckets: list[tuple[int, U64, U64, datetime | None, datetime | None]]
    ) -> dict[int, list[tuple[U64, U64]]]:
        """The runs of each bucket after adding a batch's keys (sorted, one part per bucket as
        :meth:`BatchKeys.by_bucket` gives them) as a run of their own, without changing the
        store: put in place by :meth:`install` once the batch committed.

        Parameters
        ----------
        buckets : list of tuple
            ``(bucket, hi, lo, min ts, max ts)`` per hour bucket, each part sorted by ``hi``.

        Returns
        -------
        dict of int to list
            The new sorted runs of each bucket the batch touches.
        """
        out: dict[int, list[Run]] = {}
        for bucket, hi, lo, _, _ in buckets:
            index = self.buckets.get(bucket) or DedupeIndex()
            out[bucket] = index.runs_after(hi, lo, presorted=True)
        return out

    def install(
        self,
        staged: dict[int, list[Run]],
        newest_us: dict[str | None, int],
        executor: Executor | None = None,
    ) -> None:
        """Put the runs of :meth:`staged` in place (the batch committed), note the newest ``ts``
        of its keys per record type, and run the merge cascade where one is due: in
        ``executor`` when given (the outcome is put in place by a later call once it is done;
        this call never waits for it), else now.

        Parameters
        ----------
        staged : dict of int to list
            The new runs of each bucket, from :meth:`staged` on this store as it is now.
        newest_us : dict of str or None to int
            The newest ``ts`` of the batch's keys that hold one, per record type (None: of
            records without a known type), microseconds since the epoch.
        executor : concurrent.futures.Executor or None, optional
            Where the merges run (one at a time); None: in this call.

        Examples
        --------
        >>> import numpy as np
        >>> keys = KeyStore()
        >>> for k in (1, 2):
        ...     run = np.array([k], dtype=np.uint64)
        ...     keys.install(keys.staged([(0, run, run, None, None)]), {})
        >>> len(keys.buckets[0].runs)  # the second run (1 key) merged into the first
        1
        """
        for bucket, runs in staged.items():
            self.buckets.setdefault(bucket, DedupeIndex()).runs = runs
        for record_type, ts_us in newest_us.items():
            self.note_newest(record_type, ts_us)
        if executor is None:
            for index in self.buckets.values():
                index.runs = compacted(index.runs)
            return
        self._settle_compaction()
        if self._compaction is None:
            due = {
                b: index.runs
                for b, index in self.buckets.items()
                if cascade_start([len(h) for h, _ in index.runs]) < len(index.runs) - 1
            }
            if due:
                self._compaction = (due, executor.submit(_compact_each, due))

    def _settle_compaction(self) -> None:
        """Put a finished background merge in place: in each bucket that still starts with the
        runs it merged (a bucket evicted, or merged by :meth:`add` meanwhile, keeps its own)."""
        if self._compaction is None or not self._compaction[1].done():
            return
        merged_from, future = self._compaction
        self._compaction = None
        for bucket, merged in future.result().items():
            index = self.buckets.get(bucket)
            before = merged_from[bucket]
            if index is None or len(index.runs) < len(before):
                continue
            if all(a is b for a, b in zip(index.runs, before, strict=False)):
                index.runs = [*merged, *index.runs[len(before) :]]

    def evict(self, cutoff_us: int | None) -> None:
        """Forget the buckets that end at or before ``cutoff_us`` (bucket -1 holds records
        without a ts: no horizon applies to them).

        Parameters
        ----------
        cutoff_us : int or None
            The retention's cutoff, microseconds since the epoch (UTC); None keeps all.
        """
        if cutoff_us is None:
            return
        for bucket in [b for b in self.buckets if b >= 0 and (b + 1) * US_PER_HOUR <= cutoff_us]:
            del self.buckets[bucket]


def _compact_each(runs: dict[int, list[Run]]) -> dict[int, list[Run]]:
    """:func:`compacted` of each bucket's runs (the background merge of :class:`KeyStore`)."""
    return {bucket: compacted(r) for bucket, r in runs.items()}


WATERMARK_SCHEMA: Final[dict[str, pl.DataType]] = {
    "record_type": pl.String(),
    "device": pl.String(),
    "wm_ts": TS_DTYPE,
}


class Watermarks:
    """The newest committed ``ts`` of each (record type, device), and of the whole store.

    Each committed batch's rows are kept as they come and merged (the newest ``ts`` per device)
    when the watermarks are read (:attr:`frame`: the too-late check of a batch that may hold a
    late record), or once they are as many as the merged rows: a batch in time order costs no
    merge of every device's watermark."""

    def __init__(self, frame: pl.DataFrame | None = None) -> None:
        self._parts = [pl.DataFrame(schema=WATERMARK_SCHEMA) if frame is None else frame]
        newest = self._parts[0].get_column("wm_ts").max()
        self.newest_us: int | None = epoch_us(newest) if isinstance(newest, datetime) else None

    @property
    def frame(self) -> pl.DataFrame:
        """``record_type, device, wm_ts``: one row per (record type, device), its newest
        ``ts``."""
        if len(self._parts) > 1:
            self._parts = [
                pl.concat(self._parts).group_by("record_type", "device").agg(pl.col("wm_ts").max())
            ]
        return self._parts[0]

    def advance(self, newest: pl.DataFrame) -> None:
        """Merge ``record_type, device, wm_ts`` rows (each the newest ``ts`` of a batch).

        Parameters
        ----------
        newest : polars.DataFrame
            ``record_type, device, wm_ts`` rows (see :func:`newest_per_device`).
        """
        if newest.height == 0:
            return
        self._parts.append(newest.select(list(WATERMARK_SCHEMA)))
        if sum(p.height for p in self._parts[1:]) >= max(self._parts[0].height, 100_000):
            _ = self.frame  # merged once they are as many as the merged rows: bounded memory
        top = newest.get_column("wm_ts").max()
        if isinstance(top, datetime):
            top_us = epoch_us(top)
            self.newest_us = top_us if self.newest_us is None else max(self.newest_us, top_us)

    def any_before(self, cutoff_us: int, newest: pl.DataFrame) -> bool:
        """Whether a watermark, held or among a batch's ``newest`` rows, may be older than the
        cutoff: only then has the store's watermark table anything to forget (a row that a
        later batch's row of the same device replaced counts too: then the store is asked).

        Parameters
        ----------
        cutoff_us : int
            The retention's cutoff, microseconds since the epoch (UTC).
        newest : polars.DataFrame
            ``record_type, device, wm_ts``: the newest ``ts`` of each device of a batch.

        Returns
        -------
        bool
            True when the oldest of these watermarks is before ``cutoff_us``.
        """
        oldest = [
            v
            for v in [p.get_column("wm_ts").min() for p in (*self._parts, newest)]
            if isinstance(v, datetime)
        ]
        return bool(oldest) and epoch_us(min(oldest)) < cutoff_us

    def forget_before(self, cutoff_us: int | None) -> None:
        """Drop devices whose newest record is older than ``cutoff_us`` (they are past the
        retention: every record of theirs is too late anyway).

        Parameters
        ----------
        cutoff_us : int or None
            The retention's cutoff, microseconds since the epoch (UTC); None keeps all.
        """
        if cutoff_us is None:
            return
        cutoff = from_epoch_us(cutoff_us)
        # a row older than the cutoff goes; a device with a newer row in a later part keeps it
        self._parts = [
            p
            if not isinstance(oldest := p.get_column("wm_ts").min(), datetime) or oldest >= cutoff
            else p.filter(pl.col("wm_ts") >= pl.lit(cutoff, dtype=TS_DTYPE))
            for p in self._parts
        ]


def newest_per_device(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """``record_type, device, wm_ts`` (the newest ``ts``) of the rows of ``frames`` (each with
    ``record_type``, ``device`` and ``ts``), rows without a device or ts left out.

    Parameters
    ----------
    frames : list of polars.DataFrame
        Committed records, each with ``record_type``, ``device`` and ``ts``.

    Returns
    -------
    polars.DataFrame
        One row per (record type, device): its newest ``ts`` as ``wm_ts``, in key order (the
        order the store writes them in).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> rows = pl.DataFrame({"record_type": ["gps", "gps"], "device": ["v1", "v1"],
    ...                      "ts": [datetime(2026, 1, 1, 8), datetime(2026, 1, 1, 9)]})
    >>> newest_per_device([rows]).get_column("wm_ts").to_list()
    [datetime.datetime(2026, 1, 1, 9, 0)]
    """
    parts = [
        f.select("record_type", "device", pl.col("ts").alias("wm_ts")) for f in frames if f.height
    ]
    if not parts:
        return pl.DataFrame(schema=WATERMARK_SCHEMA)
    return (
        pl.concat(parts, how="vertical_relaxed")
        .drop_nulls()
        .group_by("record_type", "device")
        .agg(pl.col("wm_ts").max())
        .sort("record_type", "device")
    )


def with_device(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``device``: each row's horizon device (:func:`horizon_device_expr`; null for unknown
    types).

    Parameters
    ----------
    frame : polars.DataFrame
        Records with ``record_type`` and the device fields.

    Returns
    -------
    polars.DataFrame
        ``frame`` with a ``device`` column (``String``).
    """
    return frame.with_columns(horizon_device_expr(single_type(frame)).alias("device"))


def too_late_reason(horizon_h: float, retention_h: float) -> pl.Expr:
    """Readable reason of a ``too_late`` row (needs ``ts``, ``device``, ``record_type``,
    ``__wm`` (the device's watermark) and ``__store_wm`` (the store's)).

    Parameters
    ----------
    horizon_h : float
        The dedupe horizon, hours.
    retention_h : float
        The backfill window (key retention), hours.

    Returns
    -------
    polars.Expr
        The reason text of each row.
    """
    device_late = pl.format(
        "ts {} is more than {} h before {} {}'s newest committed {} record (watermark {}): "
        "too late to be proven unique (dedupe horizon)",
        pl.col("ts"),
        pl.lit(_hours(horizon_h)),
        pl.col("record_type"),
        pl.col("device"),
        pl.col("record_type"),
        pl.col("__wm"),
    )
    store_late = pl.format(
        "ts {} is more than {} h before the newest committed record of the store (watermark "
        "{}): past the backfill window, too late to be proven unique",
        pl.col("ts"),
        pl.lit(_hours(retention_h)),
        pl.col("__store_wm"),
    )
    return pl.when(pl.col("__device_late")).then(device_late).otherwise(store_late)


def _hours(h: float) -> str:
    return f"{h:g}"


def late_flags(
    frame: pl.DataFrame,
    watermarks: Watermarks,
    horizon_s: int | None,
    retention_s: int | None,
) -> pl.DataFrame:
    """Add ``__wm`` (the device's watermark), ``__store_wm``, ``__device_late`` and ``__late``
    (older than the device's watermark less the horizon, or than the store's less the
    retention) to a frame with ``record_type``, ``device`` and ``ts``.

    Parameters
    ----------
    frame : polars.DataFrame
        Records with ``record_type``, ``device`` and ``ts``.
    watermarks : Watermarks
        The committed watermarks.
    horizon_s : int or None
        The dedupe horizon, seconds; None: no device is late.
    retention_s : int or None
        The backfill window, seconds; None: nothing is late against the store.

    Returns
    -------
    polars.DataFrame
        ``frame`` with the four columns added (row order kept).
    """
    store = (
        from_epoch_us(watermarks.newest_us - retention_s * 1_000_000)
        if watermarks.newest_us is not None and retention_s is not None
        else None
    )
    joined = frame.join(
        watermarks.frame.rename({"device": "__device", "wm_ts": "__wm"}),
        left_on=["record_type", "device"],
        right_on=["record_type", "__device"],
        how="left",
        maintain_order="left",
    )
    horizon = pl.duration(seconds=horizon_s) if horizon_s is not None else None
    device_late = (
        (pl.col("ts") < pl.col("__wm") - horizon).fill_null(False)
        if horizon is not None
        else pl.lit(False)
    )
    store_late = (
        (pl.col("ts") < pl.lit(store, dtype=TS_DTYPE)).fill_null(False)
        if store
        else (pl.lit(False))
    )
    store_wm = (
        pl.lit(from_epoch_us(watermarks.newest_us), dtype=TS_DTYPE)
        if watermarks.newest_us is not None
        else pl.lit(None, dtype=TS_DTYPE)
    )
    return joined.with_columns(
        device_late.alias("__device_late"),
        (device_late | store_late).alias("__late"),
        store_wm.alias("__store_wm"),
    )


def any_late_possible(frame: pl.DataFrame, watermarks: Watermarks, horizon_s: int | None) -> bool:
    """False when no row can be too late: the batch's oldest ``ts`` is within the horizon of the
    store's newest record, so within every device's (the usual batch: no per-row join). The
    retention is at least the horizon.

    Parameters
    ----------
    frame : polars.DataFrame
        Records with ``ts``.
    watermarks : Watermarks
        The committed watermarks.
    horizon_s : int or None
        The dedupe horizon, seconds; None: nothing is late.

    Returns
    -------
    bool
        True when some row may be too late (run :func:`late_flags`).
    """
    if watermarks.newest_us is None or frame.height == 0:
        return False
    oldest = frame.get_column("ts").min()
    if not isinstance(oldest, datetime):
        return False
    if horizon_s is None:
        return False
    return epoch_us(oldest) < watermarks.newest_us - horizon_s * 1_000_000
