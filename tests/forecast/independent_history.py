"""A second daily-volume generator, written apart from greenstream.synth.history and with a
different structure, so the forecaster's coverage is not measured on its own generator's
assumptions:

- levels follow a random walk with drift in log space (not a fixed growth rate), per province;
- day-to-day noise is AR(1) in log space (persistent shocks), not independent;
- the weekly pattern differs by hub (each hub draws its own);
- Double 11 is a two-day peak of 1.8x an ordinary day. The ratio is the State Post Bureau's
  figure for 11 Nov 2023 (639 million parcels collected, 1.8 times an ordinary day) as widely
  reported [M: not checked against the Bureau's release]; the pre-sale is a shorter 10-day
  ramp; after-days decay exponentially;
- Spring Festival volume falls to 40 % over the whole statutory holiday with a 7-day ramp;
- 618 is a 1.3x peak over three days.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl


def independent_history(
    *, hubs: int = 12, provinces: int = 5, days: int = 730, seed: int = 101
) -> pl.DataFrame:
    import chinese_calendar as cc

    rng = np.random.default_rng(seed)
    start = dt.date(2023, 1, 1)
    dates = [start + dt.timedelta(days=k) for k in range(days)]
    event = np.ones(days)
    for i, d in enumerate(dates):
        off = (d - dt.date(d.year, 11, 11)).days
        if off in (0, 1):
            event[i] *= 1.8
        elif -10 <= off < 0:
            event[i] *= 1 + 0.3 * (10 + off) / 10
        elif 2 <= off <= 10:
            event[i] *= 1 + 0.6 * np.exp(-(off - 1) / 2.5)
        if abs((d - dt.date(d.year, 6, 18)).days) <= 1:
            event[i] *= 1.3
        try:
            hol, name = cc.get_holiday_detail(d)
        except NotImplementedError:
            hol, name = False, None
        if hol and name == "Spring Festival":
            event[i] *= 0.4
    spring = np.flatnonzero(event < 0.5)
    for block in np.split(spring, np.flatnonzero(np.diff(spring) > 1) + 1):
        for k in range(1, 8):
            f = 0.4 + 0.6 * k / 8
            if block[0] - k >= 0:
                event[block[0] - k] *= f
            if block[-1] + k < days:
                event[block[-1] + k] *= f
    prov_of = rng.integers(0, provinces, hubs)
    prov_level = np.cumsum(rng.normal(0.0004, 0.01, (provinces, days)), axis=1)
    rows = []
    for h in range(hubs):
        weekly = rng.uniform(0.85, 1.1, 7)
        shock = np.zeros(days)
        for t in range(1, days):
            shock[t] = 0.6 * shock[t - 1] + rng.normal(0, 0.05)
        base = rng.uniform(2e3, 4e4)
        dow = np.array([weekly[d.weekday()] for d in dates])
        y = base * np.exp(prov_level[prov_of[h]] + shock) * dow * event
        rows.append(
            pl.DataFrame(
                {
                    "ds": dates,
                    "hub_id": f"B{h:02d}",
                    "province": f"P{prov_of[h]}",
                    "shipments": np.rint(y).astype(np.int64),
                }
            )
        )
    return pl.concat(rows)
