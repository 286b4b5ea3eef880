"""What every benchmark suite shares: the recorder that prints a figure against its target."""

from __future__ import annotations

from typing import Protocol


class Record(Protocol):
    """``record(name, value, unit, target, better, note)``: print one figure and keep it for
    bench/results.json. ``better`` is "higher" or "lower"; ``note`` should give the naive
    baseline or the workload so the reader can judge the figure."""

    def __call__(
        self, name: str, value: float, unit: str, target: float, better: str, note: str = ""
    ) -> None: ...
