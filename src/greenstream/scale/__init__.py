"""Scale-out: the accounting kernel run per partition on an executor (local or Dask), and the
monitoring ingest shared by several workers over one NATS JetStream stream.

Nothing here imports Dask at import time: ``import greenstream`` and the CLI start without it;
:class:`~greenstream.scale.executors.DaskExecutor` imports ``distributed`` when it is created
(``pip install greenstream[scale]``).
"""

from greenstream.scale.executors import Executor, LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
