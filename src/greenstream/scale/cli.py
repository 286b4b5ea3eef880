"""The ``greenstream footprint DATASET_DIR --executor ...`` job: executor set-up and progress
(one bar per stage, advanced as the cluster's tasks finish)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from greenstream.errors import GreenstreamError
from greenstream.pipeline import FootprintResult
from greenstream.scale.executors import make_executor
from greenstream.scale.footprint import DatasetJob, run_dataset


class ClusterError(GreenstreamError):
    """The cluster could not be reached, or was lost during the job (nothing was written)."""


def footprint_dataset(
    dataset: Path,
    output: Path,
    *,
    executor: str,
    options: DatasetJob,
    shipments: Path | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Any = None,
) -> FootprintResult:
    """Run :func:`~greenstream.scale.footprint.run_dataset` on the named executor, with one
    progress bar per stage on ``progress`` (a rich Progress, or None)."""
    try:
        runner = make_executor(executor, scheduler=scheduler, workers=workers)
    except OSError as exc:
        raise ClusterError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from exc

    def tick(stage: str, total: int) -> Callable[[], None]:
        if progress is None:
            return lambda: None
        label = f"{stage} ({runner.name})"
        task = progress.add_task(f"{label} 0/{total}", total=total)
        done = [0]

        def advance() -> None:
            done[0] += 1
            progress.update(task, advance=1, description=f"{label} {done[0]}/{total}")

        return advance

    try:
        return run_dataset(dataset, output, runner, options, shipments=shipments, tick=tick)
    except GreenstreamError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith(("distributed", "asyncio", "concurrent")):
            raise ClusterError(
                f"the cluster failed during the job ({type(exc).__name__}: {exc}); nothing was "
                "written: run the job again"
            ) from exc
        raise
    finally:
        runner.close()
