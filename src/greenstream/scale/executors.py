"""Executors: where the per-partition tasks of a job run.

A job (:mod:`greenstream.scale.footprint`) is written once against :class:`Executor`: it submits
module-level functions with their arguments and waits for their results. :class:`LocalExecutor`
runs them in this process, one after the other (today's single-machine path, the default);
:class:`DaskExecutor` runs them on a dask.distributed cluster (an existing scheduler, or a local
cluster of worker processes). The functions are the same; only the place they run changes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from greenstream.runtime import JEMALLOC_ENV, child_allocator_conf

Tick = Callable[[], None]


class Executor(Protocol):
    """Submit tasks, pass one task's result to another by handle, and wait for results."""

    name: str

    def broadcast(self, value: Any) -> Any:
        """A handle to ``value`` usable as an argument of every task (sent once per worker).

        Parameters
        ----------
        value : object
            Any picklable value.

        Returns
        -------
        object
            A handle to pass to :meth:`submit`.
        """
        ...

    def put(self, value: Any) -> Any:
        """A handle to ``value`` held by one worker (the tasks that need it fetch it there).

        Parameters
        ----------
        value : object
            Any picklable value.

        Returns
        -------
        object
            A handle to pass to :meth:`submit`.
        """
        ...

    def submit(self, fn: Callable[..., Any], *args: Any, key: str, near: str | None = None) -> Any:
        """Run ``fn(*args)``; handles among ``args`` are replaced by their values.

        Parameters
        ----------
        fn : callable
            A module-level function (picklable).
        *args : object
            Its arguments, values or handles.
        key : str
            A name for the task, unique within the job.
        near : str or None, optional
            The worker to run it on, when it is there (else any); None: the executor chooses.

        Returns
        -------
        object
            A handle to the task's result.
        """
        ...

    def locations(self, handles: Sequence[Any]) -> tuple[list[str | None], list[str]]:
        """Where each handle's finished result is held, and every worker.

        Parameters
        ----------
        handles : sequence
            Handles from :meth:`submit` whose tasks have finished.

        Returns
        -------
        tuple of (list of str or None, list of str)
            The worker holding each result (None: not known, or everything is in one place)
            and the names of the workers.
        """
        ...

    def results(self, handles: Sequence[Any], tick: Tick | None = None) -> list[Any]:
        """The values of ``handles`` in order; ``tick`` is called once per finished task.

        Parameters
        ----------
        handles : sequence
            Handles from :meth:`submit`.
        tick : callable or None, optional
            Called with no argument once per finished task (progress display).

        Returns
        -------
        list
            The results, in the order of ``handles``; a failed task's exception is raised.
        """
        ...

    def close(self) -> None:
        """Release the executor's resources (a local cluster is shut down)."""
        ...


@dataclass(frozen=True)
class _Done:
    value: Any


@dataclass(frozen=True)
class _Spilled:
    """A task result written to a file (by its own ``spill_to``) until a task or the client
    reads it (by its class's ``load_from``)."""

    path: Path
    kind: Any

    def load(self) -> Any:
        return self.kind.load_from(self.path)


def _physical_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not a POSIX system: assume 8 GiB
        return 8 << 30


def spills(value: object) -> bool:
    """Whether a task result may be held on disk between tasks: it has ``nbytes()`` and
    ``spill_to(path)``, its class ``load_from(path)`` (large intermediate results, as a cluster
    spills them).

    Parameters
    ----------
    value : object
        A task's result.

    Returns
    -------
    bool
        True when the local executor writes it to a file until it is read.

    Examples
    --------
    >>> class Big:
    ...     def nbytes(self): return 1
    ...     def spill_to(self, path): ...
    ...     @classmethod
    ...     def load_from(cls, path): ...
    >>> spills(Big()), spills(3)
    (True, False)
    """
    return (
        callable(getattr(value, "spill_to", None))
        and callable(getattr(value, "nbytes", None))
        and callable(getattr(type(value), "load_from", None))
    )


@dataclass
class LocalExecutor:
    """Runs every task in this process when it is submitted (no serialisation, except that
    results that can spill themselves (:func:`spills`) go to files, until they are read, once
    those held in memory pass ``spill_above_bytes``: a job over a dataset larger than memory
    holds no more than that of its intermediate rows, as a cluster's workers spill theirs)."""

    name = "local"
    #: bytes of spillable results held in memory before the next ones go to files; by default a
    #: quarter of the machine's memory (as Dask's workers spill past a share of their limit)
    spill_above_bytes: int = field(default_factory=lambda: _physical_memory_bytes() // 4)
    _spill_dir: Path | None = field(default=None, repr=False)
    _spilled: int = field(default=0, repr=False)
    _held_bytes: int = field(default=0, repr=False)

    def _hold(self, value: Any) -> _Done:
        if not spills(value):
            return _Done(value)
        size = int(value.nbytes())
        if self._held_bytes + size <= self.spill_above_bytes:
            self._held_bytes += size
            return _Done(value)
        if self._spill_dir is None:
            self._spill_dir = Path(tempfile.mkdtemp(prefix="greenstream-local-spill-"))
        self._spilled += 1
        path = self._spill_dir / f"{self._spilled}"
        value.spill_to(path)
        return _Done(_Spilled(path, type(value)))

    @property
    def spill_dir(self) -> Path | None:
        """The folder of spilled results (None before the first and after :meth:`close`)."""
        return self._spill_dir

    @staticmethod
    def _value(handle: Any) -> Any:
        value = handle.value if isinstance(handle, _Done) else handle
        return value.load() if isinstance(value, _Spilled) else value

    def broadcast(self, value: Any) -> Any:
        """``value`` itself (see :meth:`Executor.broadcast`).

        Parameters
        ----------
        value : object
            Any value.
        """
        return value

    def put(self, value: Any) -> Any:
        """``value`` itself (see :meth:`Executor.put`).

        Parameters
        ----------
        value : object
            Any value.
        """
        return value

    def submit(
        self, fn: Callable[..., Any], *args: Any, key: str, near: str | None = None
    ) -> _Done:
        """Run ``fn(*args)`` now, in this process (see :meth:`Executor.submit`).

        Parameters
        ----------
        fn : callable
            The function.
        *args : object
            Its arguments, values or handles.
        key : str
            The task's name (unused here).
        near : str or None, optional
            Unused: every task runs here.

        Examples
        --------
        >>> ex = LocalExecutor()
        >>> a = ex.submit(pow, 2, 10, key="a")
        >>> ex.results([ex.submit(abs, a, key="b")])
        [1024]
        """
        return self._hold(fn(*(self._value(a) for a in args)))

    def results(self, handles: Sequence[Any], tick: Tick | None = None) -> list[Any]:
        """The values of ``handles`` in order (see :meth:`Executor.results`).

        Parameters
        ----------
        handles : sequence
            Handles from :meth:`submit`.
        tick : callable or None, optional
            Called once per handle.
        """
        out = []
        for handle in handles:
            out.append(self._value(handle))
            if tick is not None:
                tick()
        return out

    def locations(self, handles: Sequence[Any]) -> tuple[list[str | None], list[str]]:
        """Everything is in this process: no location (see :meth:`Executor.locations`).

        Parameters
        ----------
        handles : sequence
            Handles from :meth:`submit`.

        Returns
        -------
        tuple of (list of None, list of str)
            None per handle, and this process as the only worker.
        """
        return [None] * len(handles), ["local"]

    def close(self) -> None:
        """Remove the files of spilled results."""
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None


class DaskExecutor:
    """Tasks on a dask.distributed cluster.

    With ``scheduler`` (``tcp://HOST:PORT``) it connects to an existing cluster; without, it
    starts a local cluster of ``workers`` processes with one thread each (Polars in each worker
    limited to ``polars_threads`` threads, by default the cores shared out among the workers).
    A worker lost during a job is handled by the scheduler: its tasks, and the results it held,
    are computed again elsewhere (up to the scheduler's ``allowed-failures``).
    """

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        workers: int | None = None,
        polars_threads: int | None = None,
    ) -> None:
        from distributed import Client, LocalCluster

        self._cluster: Any = None
        if scheduler is None:
            n = workers or max(1, os.cpu_count() or 1)
            threads = polars_threads or max(1, (os.cpu_count() or 1) // n)
            # each worker is a fresh, long-running process: Polars' allocator gets the decay
            # the command line sets for its own jobs (greenstream.runtime), unless the user set
            # one. Polars reads the variable at import, so it must be in the environment the
            # worker is spawned with, which is this process's (Dask's nanny reads it from here
            # too, ahead of its own "pre-spawn-environ"); here it changes nothing, as Polars
            # has been configured already.
            os.environ[JEMALLOC_ENV] = child_allocator_conf()
            self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                env={"POLARS_MAX_THREADS": str(threads)},
            )
            self.client: Any = Client(self._cluster)  # type: ignore[no-untyped-call]
        else:
            self.client = Client(scheduler)  # type: ignore[no-untyped-call]

    def broadcast(self, value: Any) -> Any:
        """A future of a task that returns ``value`` (recomputed if its worker is lost).

        Parameters
        ----------
        value : object
            Any picklable value.

        References
        ----------
        Dask.distributed documentation, "Futures" (``Client.submit``).
        """
        return self._hold(value)

    def put(self, value: Any) -> Any:
        """A future of a task that returns ``value`` (recomputed if its worker is lost).

        Parameters
        ----------
        value : object
            Any picklable value.
        """
        return self._hold(value)

    def _hold(self, value: Any) -> Any:
        # A task that returns the value, not client.scatter: scattered data lost with a worker
        # cannot be recovered, a task's result is computed again from the task (which travels
        # through the scheduler), so a killed worker never loses the job's inputs.
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*large (object|graph)")
            return self.client.submit(_identity, value, pure=False)

    def submit(self, fn: Callable[..., Any], *args: Any, key: str, near: str | None = None) -> Any:
        """Submit ``fn(*args)`` to the cluster, impure (never deduplicated by key hashing).

        Parameters
        ----------
        fn : callable
            A module-level function (picklable).
        *args : object
            Its arguments, values or futures.
        key : str
            The task's key in the scheduler, unique within the job.
        near : str or None, optional
            A worker's address: the task runs there, its arguments fetched there (a loose
            restriction: should that worker be lost, another runs it).
        """
        if near is None:
            return self.client.submit(fn, *args, key=key, pure=False)
        return self.client.submit(
            fn, *args, key=key, pure=False, workers=[near], allow_other_workers=True
        )

    def locations(self, handles: Sequence[Any]) -> tuple[list[str | None], list[str]]:
        """The worker holding each finished future's result (the first when several do), and
        the cluster's workers (see :meth:`Executor.locations`).

        Parameters
        ----------
        handles : sequence
            Finished futures.

        Returns
        -------
        tuple of (list of str or None, list of str)
            A worker address per future (None when no worker holds it now), and every worker's.
        """
        held = self.client.who_has(list(handles))
        where: list[str | None] = [(sorted(held.get(h.key, ())) or [None])[0] for h in handles]
        workers = sorted(self.client.scheduler_info()["workers"])
        return where, workers

    def results(self, handles: Sequence[Any], tick: Tick | None = None) -> list[Any]:
        """Wait for every future, fetching each result as its task finishes; the first failed
        task's exception is raised.

        Parameters
        ----------
        handles : sequence
            Futures from :meth:`submit`.
        tick : callable or None, optional
            Called once per finished task, in completion order.
        """
        from distributed import as_completed

        futures = list(handles)
        position = {future.key: i for i, future in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        # each result is fetched as its task finishes (with the results): the transfers overlap
        # the tasks still running; a failed task's exception is raised here
        done = as_completed(futures, with_results=True, raise_errors=True)  # type: ignore[no-untyped-call]
        for future, value in done:
            if future.status != "finished":
                future.result()  # a cancelled future (the cluster failed) raises here
            out[position[future.key]] = value
            if tick is not None:
                tick()
        return out

    def close(self) -> None:
        """Close the client, and the local cluster when this executor started one."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _identity(value: Any) -> Any:
    return value


def balanced_placement(
    where: Sequence[str | None], sizes: Sequence[int], workers: Sequence[str]
) -> list[str | None]:
    """Where to run one task per held result so that the workers' shares of the work (the
    results' ``sizes``) are even, moving as few results as it takes: each move takes the
    result whose size best evens the most and the least loaded worker out (the smaller of two
    equally good), while that lowers
    the larger of their two loads. Results held nowhere known stay where they are (None).

    A job whose typed partitions stay where their survey ran would otherwise keep the
    survey's share-out, decided by which worker was free first: with 16 partitions on two
    workers, 9 and 7 make the compute stage last 9 tasks instead of 8.

    Parameters
    ----------
    where : sequence of str or None
        The worker holding each result.
    sizes : sequence of int
        Each result's work (rows, say).
    workers : sequence of str
        Every worker that can take a task.

    Returns
    -------
    list of str or None
        The worker to run each task on.

    Examples
    --------
    >>> balanced_placement(["a", "a", "a", "b"], [10, 10, 10, 10], ["a", "b"])
    ['b', 'a', 'a', 'b']
    >>> balanced_placement(["a", "a"], [30, 10], ["a", "b", "c"])
    ['a', 'b']
    """
    target = list(where)
    load = dict.fromkeys(workers, 0)
    for w, size in zip(target, sizes, strict=True):
        if w is not None:
            load[w] = load.get(w, 0) + size
    if len(load) < 2:
        return target
    while True:
        heavy = max(load, key=lambda w: (load[w], w))
        light = min(load, key=lambda w: (load[w], w))
        gap = load[heavy] - load[light]
        movable = [i for i, w in enumerate(target) if w == heavy and 0 < sizes[i] < gap]
        if not movable:
            return target
        i = min(movable, key=lambda k: (abs(gap - 2 * sizes[k]), sizes[k], k))
        target[i] = light
        load[heavy] -= sizes[i]
        load[light] += sizes[i]


def make_executor(
    name: str, *, scheduler: str | None = None, workers: int | None = None
) -> LocalExecutor | DaskExecutor:
    """The executor called ``name`` (``local`` or ``dask``).

    Parameters
    ----------
    name : str
        ``local`` (this process) or ``dask`` (a dask.distributed cluster).
    scheduler : str or None, optional
        ``tcp://HOST:PORT`` of an existing Dask scheduler; None starts a local cluster.
    workers : int or None, optional
        Worker processes of a local cluster (count); None: one per core.

    Returns
    -------
    LocalExecutor or DaskExecutor
        The executor.

    Raises
    ------
    RuntimeError
        ``dask`` without dask.distributed installed.
    ValueError
        An unknown ``name``.

    Examples
    --------
    >>> make_executor("local").name
    'local'
    """
    if name == "local":
        return LocalExecutor()
    if name == "dask":
        try:
            return DaskExecutor(scheduler, workers=workers)
        except ImportError as exc:
            raise RuntimeError(
                "the dask executor needs dask.distributed: pip install 'greenstream[scale]'"
            ) from exc
    raise ValueError(f"unknown executor {name!r}: local or dask")
