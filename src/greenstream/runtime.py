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
still returns its memory within seconds. In interleaved rounds of the 4M-record ingest
it used 0.28-0.56 fewer CPU-seconds per 1M records in four rounds of five;
a 2 s decay lost to 10 s in four of six rounds. The price is memory held a little longer: the 10M-TCE file job's
peak RSS is 2.33-2.41 GB against 2.14-2.18 GB with Polars' setting (target 4 GB).

The setting only takes effect when it is in the environment before Polars is imported, so the
command-line entry point (:func:`greenstream.cli.main`) sets it before it imports anything else,
never overriding a value the user set. Importing greenstream as a library changes nothing in the
process: a program that wants the setting calls :func:`configure_allocator` before it imports
Polars. A process that imported Polars first keeps Polars' settings.

**Garbage collector.** :func:`freeze_startup_objects` moves the objects that exist once a
long-running job has started (modules, registries, the SQLAlchemy metadata: about 107,000
objects once ``greenstream monitor ingest`` has set up its ingestor) into the collector's
permanent generation, so its full collections stop traversing them again and again
(``gc.freeze``). In the 4M-record ingest the collector's time fell from 0.118 s to 0.020 s.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Final

JEMALLOC_ENV: Final = "_RJEM_MALLOC_CONF"
# 10 s: jemalloc's own default decay of dirty pages (jemalloc 5 manual, opt.dirty_decay_ms)
JEMALLOC_CONF: Final = "dirty_decay_ms:10000,muzzy_decay_ms:10000"
# what polars/__init__ (Polars 2.1) writes in front of the variable's value when it loads
POLARS_JEMALLOC_DEFAULT: Final = "dirty_decay_ms:500,muzzy_decay_ms:1000"


def configure_allocator() -> bool:
    """Set Polars' jemalloc decay (:data:`JEMALLOC_CONF`) unless the user set
    ``_RJEM_MALLOC_CONF`` or Polars is already imported; True when it was set."""
    if JEMALLOC_ENV in os.environ or "polars" in sys.modules:
        return False
    os.environ[JEMALLOC_ENV] = JEMALLOC_CONF
    return True


def child_allocator_conf() -> str:
    """The ``_RJEM_MALLOC_CONF`` value for a new worker process of a job: the user's own
    setting when there is one, else :data:`JEMALLOC_CONF`. Polars' own default, which it writes
    into this process's variable when it loads, is not taken for the user's (a worker's Polars
    writes it again in front).

    Returns
    -------
    str
        The value for the child's environment.
    """
    value = os.environ.get(JEMALLOC_ENV, "")
    user = value.removeprefix(POLARS_JEMALLOC_DEFAULT).lstrip(",")
    return user or JEMALLOC_CONF


def freeze_startup_objects() -> None:
    """Collect once, then exempt every object alive now from later collections (``gc.freeze``):
    for a long-running job, called once its setup is done."""
    gc.collect()
    gc.freeze()
