"""The ``greenstream footprint DATASET_DIR --executor ...`` job: executor set-up and progress
(one bar per stage, advanced as the cluster's tasks finish)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenstream.errors import GreenstreamError, InputErrors

if TYPE_CHECKING:
    from greenstream.pipeline import FootprintResult
    from greenstream.scale.footprint import DatasetJob


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
    from greenstream.scale.executors import make_executor
    from greenstream.scale.footprint import run_dataset

    if executor not in ("local", "dask"):
        raise InputErrors.single("--executor", f"'{executor}' is not an executor: local or dask")
    if workers is not None and workers < 1:
        raise InputErrors.single("--workers", "must be at least 1")
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


def register(app: Any) -> None:
    """``greenstream scale ingest-worker``: one of several ingest workers on one stream."""
    import typer

    scale_app = typer.Typer(
        help="Scale-out: ingest workers sharing a stream.", no_args_is_help=True
    )
    app.add_typer(scale_app, name="scale")

    @scale_app.command("ingest-worker")
    def ingest_worker(
        partitions: int = typer.Option(..., help="partitions of the stream (same on every worker)"),
        url: str = typer.Option("nats://127.0.0.1:4222", help="NATS server URL"),
        stream: str = typer.Option("TELEMETRY", help="JetStream stream"),
        prefix: str = typer.Option("telemetry", help="subjects are <prefix>.p<k>.<type>"),
        durable: str = typer.Option("greenstream-ingest", help="consumers are <durable>-p<k>"),
        batch_messages: int = typer.Option(50, help="messages per committed batch"),
        ack_wait: float = typer.Option(30.0, help="seconds before JetStream redelivers"),
        until_drained: bool = typer.Option(
            False, help="stop once every partition is delivered and acknowledged"
        ),
        db: str | None = typer.Option(None, help="PostgreSQL URL of the store"),
        fmt: str = typer.Option("table", "--format", help="summary format: table or json"),
    ) -> None:
        """Ingest the partitions this worker leases (its fair share; a dead worker's are
        taken over), exactly once, per device in order (docs/scale-out.md)."""
        import asyncio
        import json
        import sys

        from greenstream.clikit import handle_errors, out
        from greenstream.monitoring.ingest import Ingestor, IngestSettings
        from greenstream.scale.stream import PartitionLeases, run_worker
        from greenstream.store import make_engine, upgrade

        with handle_errors():
            settings = IngestSettings(database_url=db)
            engine = make_engine(db)
            upgrade(db)
            leases = PartitionLeases(engine, stream)

            def progress(summary: Any) -> None:
                sys.stderr.write(
                    f"batch {summary.batches} committed: {summary.records_in} records in so far\n"
                )
                sys.stderr.flush()

            try:
                report = asyncio.run(
                    run_worker(
                        lambda: Ingestor(settings, engine),
                        leases,
                        url=url,
                        stream=stream,
                        prefix=prefix,
                        partitions=partitions,
                        durable=durable,
                        batch_messages=batch_messages,
                        ack_wait_s=ack_wait,
                        until_drained=until_drained,
                        on_batch=progress,
                    )
                )
            finally:
                leases.close()
            result = {**report.summary.as_dict(), "partitions": report.partitions}
            if fmt == "json":
                sys.stdout.write(json.dumps(result) + "\n")
            else:
                out.print(
                    f"{result['records_in']:,} records in, {result['accepted']:,} accepted, "
                    f"{result['duplicates']:,} duplicates, {result['quarantined']:,} quarantined; "
                    f"partitions {result['partitions']}",
                    highlight=False,
                )
