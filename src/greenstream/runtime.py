"""Process settings for greenstream's jobs: Polars' memory allocator and the garbage collector.

**Allocator.** Polars allocates through the jemalloc it bundles, and its ``polars/__init__``
configures it to give freed pages back to the kernel 0.5 s after they were freed
(``dirty_decay_ms:500,muzzy_decay_ms:1000`` in Polars 2.1), appending whatever
``_RJEM_MALLOC_CONF`` holds so that a process can override it. A pipeline that decodes a 64 MB
chunk every few tenths of a second frees and allocates hundreds of MB per second; with a 0.5 s
decay those pages go back to the kernel between two chunks and return as fresh pages, which the
kernel must fault in and zero. In a profile of the NDJSON ingest (perf, 2026-11-23) the kernel
took 18 % of the CPU, mostly page faults and page zeroing, and jemalloc's purging thread 2.5 %.
:func:`configure_allocator` sets a 10 s decay instead (jemalloc's own default for dirty pages,
used for muzzy pages too): pages freed by one chunk are reused by the next, and an idle process
still returns its memory within seconds. In five interleaved rounds of the 4M-record ingest
it used 0.28-0.56 fewer CPU-seconds per 1M records in four rounds (2.08-2.83 against
2.50-3.19) and 0.05 more in one (decision 0010, seventh pass). Transparent huge pages were
measured in the same rounds and gained nothing; so did glibc's trim and mmap thresholds set
alone, without one shared arena (see below: a decode thread's own arena cannot hold a chunk);
a 2 s decay lost to 10 s in four of six rounds. The price is memory held a little longer: the 10M-TCE file job's
peak RSS is 2.33-2.41 GB against 2.14-2.18 GB with Polars' setting (target 4 GB).

The setting only takes effect when it is in the environment before Polars is imported, so the
package sets it on import (``greenstream/__init__``), never overriding a value the user set.
A process that imported Polars before greenstream keeps Polars' settings.

**glibc's malloc.** Python objects larger than 512 bytes and numpy's arrays come from glibc's
``malloc``, which by default maps a block of 32 MB or more afresh from the kernel and unmaps it
when it is freed, and gives each thread that allocates at once an arena of its own (mapped heaps
of at most 64 MB, which a 64 MB block never fits). The NDJSON file source reads each chunk
(64 MB) into a new ``bytes`` in a decode thread: every chunk's pages were faulted in and zeroed
again, 90-118 ns a GPS row of CPU for the read, of which the copy itself is ~28.
:func:`keep_heap_memory`, called by :func:`start_long_running_job`, makes glibc
serve blocks up to 1 GiB from one shared heap (``M_ARENA_MAX`` 1, ``M_MMAP_THRESHOLD`` and
``M_TRIM_THRESHOLD`` 1 GiB): a freed chunk's pages can be reused by the next one (28-36 ns a
row when the next chunk fits the freed block), and the process keeps up to 1 GiB of freed heap
instead of returning it at once. In the file pipeline many chunk reads still fault fresh pages
(two thirds of its page faults in a perf profile of session 8): chunks differ in length by a few
bytes and smaller allocations split the freed blocks, so glibc grows the heap instead; a reused
buffer would avoid it, but Polars' reader takes only ``bytes`` or a file object. In six
interleaved pairs of the 4M-record ingest it used 1.84 CPU-s per 1M records against 1.97 on
average (decision 0010, ninth pass); the run's peak RSS was 1.03-1.04 GB against 0.94-0.98.
Threads that already have an arena keep it; a user's ``MALLOC_*`` variables or
``GLIBC_TUNABLES`` malloc settings win (nothing is changed), and it does nothing outside glibc.

**Garbage collector.** :func:`freeze_startup_objects` moves the objects that exist once a
long-running job has started (modules, registries, the SQLAlchemy metadata: about 107,000
objects once ``greenstream monitor ingest`` has set up its ingestor) into the collector's
permanent generation, so its full collections stop traversing them again and again
(``gc.freeze``). In the 4M-record ingest the collector's time fell from 0.118 s to 0.020 s.
"""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import sys
from typing import Final

JEMALLOC_ENV: Final = "_RJEM_MALLOC_CONF"
# 10 s: jemalloc's own default decay of dirty pages (jemalloc 5 manual, opt.dirty_decay_ms)
JEMALLOC_CONF: Final = "dirty_decay_ms:10000,muzzy_decay_ms:10000"


def configure_allocator() -> bool:
    """Set Polars' jemalloc decay (:data:`JEMALLOC_CONF`) unless the user set
    ``_RJEM_MALLOC_CONF`` or Polars is already imported; True when it was set."""
    if JEMALLOC_ENV in os.environ or "polars" in sys.modules:
        return False
    os.environ[JEMALLOC_ENV] = JEMALLOC_CONF
    return True


# mallopt(3) parameters (<malloc.h>)
M_TRIM_THRESHOLD: Final = -1
M_MMAP_THRESHOLD: Final = -3
M_ARENA_MAX: Final = -8
HEAP_KEEP_BYTES: Final = 1 << 30
GLIBC_MALLOC_ENV: Final = (
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
)


def keep_heap_memory() -> bool:
    """Have glibc's ``malloc`` serve blocks up to :data:`HEAP_KEEP_BYTES` from one shared heap
    and keep freed memory for reuse (see the module docstring); True when it was set, False on
    another C library or when the user set glibc's malloc options."""
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in GLIBC_MALLOC_ENV) or "glibc.malloc." in os.environ.get(
        "GLIBC_TUNABLES", ""
    ):
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(
        mallopt(param, value) == 1
        for param, value in (
            (M_ARENA_MAX, 1),
            (M_MMAP_THRESHOLD, HEAP_KEEP_BYTES),
            (M_TRIM_THRESHOLD, HEAP_KEEP_BYTES),
        )
    )


def start_long_running_job() -> None:
    """What a long-running job (``greenstream monitor ingest``, ``mqtt``, ``nats``) does once
    its setup is done: :func:`freeze_startup_objects` and :func:`keep_heap_memory`."""
    freeze_startup_objects()
    keep_heap_memory()


def freeze_startup_objects() -> None:
    """Collect once, then exempt every object alive now from later collections (``gc.freeze``):
    for a long-running job, called once its setup is done."""
    gc.collect()
    gc.freeze()
