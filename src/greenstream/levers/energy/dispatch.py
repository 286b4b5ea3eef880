"""Battery dispatch over a year of hours as a linear programme solved by HiGHS.

Per hour ``t`` (energy in kWh over one hour, so kW = kWh/h), with ``pv``, ``load``, ``price``
(CNY/kWh), ``feed_in`` (CNY/kWh) and ``intensity`` (kg/kWh) given:

Variables
    ``imp`` grid import >= 0; ``exp`` export in [0, min(export limit, PV surplus over load)]
    (the battery does not discharge into the grid); ``ch``, ``dis`` battery charge
    / discharge in [0, power]; ``soc`` stored energy in [E (1 - DoD), E]; ``curt`` curtailed PV
    in [0, pv].
Balance
    ``pv - curt + imp + dis = load + ch + exp``
State of charge
    ``soc_t = soc_{t-1} + eta_c ch_t - dis_t / eta_d`` with ``eta_c = eta_d = sqrt(RTE)``,
    ``soc_{-1} = soc_{T-1} = soc_0`` (the year ends where it began: continuity).
Grid charging
    allowed unless ``allow_grid_charging=False`` (then ``ch <= pv - curt - ...`` by a row
    ``ch_t <= pv_t``).
Objective (``weight`` w in [0, 1])
    ``(1 - w) x cost + w x lambda x CO2e`` where cost = sum(price imp - feed_in exp +
    degradation dis) and CO2e = sum(intensity imp) (location-based: exports earn no credit).
    ``lambda`` = mean price / mean intensity turns kg into CNY-like units so that w is a share.
    Where the feed-in price exceeds the import price of an hour, an hourly energy model can
    import (to charge) while it exports surplus PV; the tariff data here never has that.

The results (energy cost, CO2e, green-power share, cycles) are computed afterwards with the
kernel's :mod:`greenstream.accounting.site_energy`, for the LP and for the two baselines: no
battery, and the rule "charge in the valley, discharge at the peak".

Green-power share = (PV used directly by the load + battery discharge x the share of the
battery's charge that came from PV) / load, the battery's green share taken over the year.

References
----------
Huangfu Q., Hall J. A. J. (2018), Parallelizing the dual revised simplex method, Math. Prog.
Comp. 10:119-142 (HiGHS). GHG Protocol Scope 2 Guidance (2015) for the CO2e of imports.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from greenstream.accounting.site_energy import electricity_emissions_kg
from greenstream.errors import GreenstreamError, InputErrors

FloatArray = npt.NDArray[np.float64]
OBJECTIVES: Final = ("cost", "co2e", "blend")
# Periods the rule-based baseline charges in and discharges in (tariffs.PERIODS names).
RULE_CHARGE_PERIODS: Final = ("valley", "deep_valley")
RULE_DISCHARGE_PERIODS: Final = ("peak", "sharp")


@dataclass(frozen=True)
class BatterySpec:
    """What dispatch needs of a battery (kWh, kW, fractions, CNY per kWh discharged)."""

    energy_kwh: float
    power_kw: float
    round_trip_efficiency: float
    depth_of_discharge: float = 1.0
    degradation_cost_cny_per_kwh: float = 0.0
    initial_soc: float = 0.5

    @property
    def soc_min_kwh(self) -> float:
        """Lowest allowed state of charge, kWh: ``energy_kwh x (1 - depth_of_discharge)``."""
        return self.energy_kwh * (1.0 - self.depth_of_discharge)

    @property
    def usable_kwh(self) -> float:
        """Usable energy, kWh: ``energy_kwh x depth_of_discharge``."""
        return self.energy_kwh * self.depth_of_discharge

    @property
    def soc0_kwh(self) -> float:
        """Initial state of charge, kWh, kept within [``soc_min_kwh``, ``energy_kwh``]."""
        return min(max(self.energy_kwh * self.initial_soc, self.soc_min_kwh), self.energy_kwh)


@dataclass(frozen=True)
class Flows:
    """Hourly energy flows of one dispatch (kWh per hour)."""

    grid_import: FloatArray
    grid_export: FloatArray
    charge: FloatArray
    discharge: FloatArray
    soc: FloatArray
    curtailed: FloatArray


@dataclass(frozen=True)
class Outcome:
    """Totals of one dispatch, priced and accounted."""

    strategy: str
    energy_cost_cny: float
    co2e_kg: float
    grid_import_kwh: float
    grid_export_kwh: float
    curtailed_kwh: float
    pv_direct_kwh: float
    discharge_kwh: float
    green_power_share: float
    cycles: float
    soc_end_kwh: float
    flows: Flows = field(repr=False)

    def row(self) -> dict[str, Any]:
        """The totals as one table row (cost in CNY, energy in kWh, CO2e in kg, rounded for display).

        Returns
        -------
        dict of str to Any
            One value per column of ``greenstream energy dispatch``.
        """
        return {
            "strategy": self.strategy,
            "energy_cost_cny": round(self.energy_cost_cny, 2),
            "co2e_kg": round(self.co2e_kg, 1),
            "grid_import_kwh": round(self.grid_import_kwh, 1),
            "grid_export_kwh": round(self.grid_export_kwh, 1),
            "curtailed_kwh": round(self.curtailed_kwh, 1),
            "green_power_share": round(self.green_power_share, 4),
            "cycles": round(self.cycles, 1),
            "soc_end_kwh": round(self.soc_end_kwh, 1),
        }


@dataclass(frozen=True)
class DispatchResult:
    """The optimal dispatch and its two baselines, with the solver's status and time."""

    optimal: Outcome
    no_battery: Outcome
    rule_based: Outcome
    objective: str
    weight: float
    solver_status: str
    solve_s: float
    hours: int

    @property
    def cost_saved_cny(self) -> float:
        """Energy cost saved by the optimal dispatch against no battery, CNY."""
        return self.no_battery.energy_cost_cny - self.optimal.energy_cost_cny

    @property
    def co2e_avoided_kg(self) -> float:
        """CO2e avoided by the optimal dispatch against no battery, kg."""
        return self.no_battery.co2e_kg - self.optimal.co2e_kg

    def table(self) -> list[dict[str, Any]]:
        """The three strategies as rows: no battery, rule-based, optimal.

        Returns
        -------
        list of dict
            :meth:`Outcome.row` of each.
        """
        return [o.row() for o in (self.no_battery, self.rule_based, self.optimal)]


def _as_array(name: str, values: Any, hours: int) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(hours, float(arr))
    if arr.shape != (hours,):
        raise InputErrors.single("<dispatch>", f"{name} has {arr.size} values, not {hours}")
    if not np.all(np.isfinite(arr)):
        raise InputErrors.single("<dispatch>", f"{name} has missing or infinite values")
    return arr


def _co2e_kg(grid_import: FloatArray, intensity: FloatArray) -> float:
    frame = pl.DataFrame({"kwh": grid_import, "ef": intensity})
    return float(frame.select(electricity_emissions_kg(pl.col("kwh"), pl.col("ef")).sum()).item())


def _cost_cny(flows: Flows, price: FloatArray, feed_in: FloatArray, degradation: float) -> float:
    return float(
        price @ flows.grid_import
        - feed_in @ flows.grid_export
        + degradation * flows.discharge.sum()
    )


def evaluate(
    strategy: str,
    flows: Flows,
    *,
    load: FloatArray,
    pv: FloatArray,
    price: FloatArray,
    feed_in: FloatArray,
    intensity: FloatArray,
    battery: BatterySpec | None,
) -> Outcome:
    """Cost, CO2e (through the kernel's function), green-power share and cycles of flows.

    Parameters
    ----------
    strategy : str
        Name of the strategy (``no_battery``, ``rule_based``, ``optimal``).
    flows : Flows
        Hourly flows, kWh.
    load : numpy.ndarray
        Site load per hour, kWh.
    pv : numpy.ndarray
        PV generation per hour, kWh.
    price : numpy.ndarray
        Import price per hour, CNY/kWh.
    feed_in : numpy.ndarray
        Export price per hour, CNY/kWh.
    intensity : numpy.ndarray
        Grid intensity per hour, kg CO2e per kWh.
    battery : BatterySpec or None
        The battery (for its degradation cost and cycles); None without storage.

    Returns
    -------
    Outcome
        Cost (CNY), CO2e (kg), energy totals (kWh), green-power share (fraction), cycles.

    References
    ----------
    .. [1] GHG Protocol Scope 2 Guidance (2015), 6.1: grid import x grid emission factor.
    """
    pv_used = pv - flows.curtailed
    pv_direct = np.minimum(pv_used, load)
    surplus = pv_used - pv_direct
    charge_from_pv = np.minimum(flows.charge, surplus)
    total_charge = flows.charge.sum()
    green_fraction = charge_from_pv.sum() / total_charge if total_charge > 0 else 0.0
    load_total = load.sum()
    green = pv_direct.sum() + flows.discharge.sum() * green_fraction
    usable = battery.usable_kwh if battery is not None else 0.0
    degradation = battery.degradation_cost_cny_per_kwh if battery is not None else 0.0
    return Outcome(
        strategy=strategy,
        energy_cost_cny=_cost_cny(flows, price, feed_in, degradation),
        co2e_kg=_co2e_kg(flows.grid_import, intensity),
        grid_import_kwh=float(flows.grid_import.sum()),
        grid_export_kwh=float(flows.grid_export.sum()),
        curtailed_kwh=float(flows.curtailed.sum()),
        pv_direct_kwh=float(pv_direct.sum()),
        discharge_kwh=float(flows.discharge.sum()),
        green_power_share=float(min(green / load_total, 1.0)) if load_total > 0 else 0.0,
        cycles=float(flows.discharge.sum() / usable) if usable > 0 else 0.0,
        soc_end_kwh=float(flows.soc[-1]) if len(flows.soc) else 0.0,
        flows=flows,
    )


def no_battery_flows(load: FloatArray, pv: FloatArray, export_limit_kw: float) -> Flows:
    """Without storage: PV serves the load, the surplus is exported up to the limit, the rest
    curtailed; the grid covers the deficit.

    Parameters
    ----------
    load : numpy.ndarray
        Site load per hour, kWh.
    pv : numpy.ndarray
        PV generation per hour, kWh.
    export_limit_kw : float
        Grid export limit, kW (kWh per hour).

    Returns
    -------
    Flows
        Hourly flows, kWh (no charge or discharge).

    Examples
    --------
    Hour 1: 10 kWh load, 4 kWh PV -> 6 imported. Hour 2: 2 kWh load, 8 kWh PV -> 6 surplus, 3
    exported (the limit), 3 curtailed.

    >>> import numpy as np
    >>> flows = no_battery_flows(np.array([10.0, 2.0]), np.array([4.0, 8.0]), 3.0)
    >>> flows.grid_import.tolist(), flows.grid_export.tolist(), flows.curtailed.tolist()
    ([6.0, 0.0], [0.0, 3.0], [0.0, 3.0])
    """
    net = load - pv
    imp = np.clip(net, 0.0, None)
    surplus = np.clip(-net, 0.0, None)
    exp = np.minimum(surplus, export_limit_kw)
    zero = np.zeros_like(load)
    return Flows(imp, exp, zero, zero.copy(), zero.copy(), surplus - exp)


def rule_based_flows(
    load: FloatArray,
    pv: FloatArray,
    periods: npt.NDArray[np.str_],
    battery: BatterySpec,
    export_limit_kw: float,
) -> Flows:
    """The rule "charge in the valley, discharge at the peak": PV surplus always charges; in
    valley hours the battery also charges from the grid at full power until full; in peak and
    sharp hours it discharges into the load (never exported) until empty.

    A sequential simulation (each hour depends on the state the last one left), used only as
    the baseline the optimum is compared with. Unlike the LP it need not end the period at its
    initial state of charge (``soc_end_kwh`` shows where it ended).

    Parameters
    ----------
    load : numpy.ndarray
        Site load per hour, kWh.
    pv : numpy.ndarray
        PV generation per hour, kWh.
    periods : numpy.ndarray of str
        Tariff period of each hour.
    battery : BatterySpec
        The battery (kWh, kW, fractions).
    export_limit_kw : float
        Grid export limit, kW.

    Returns
    -------
    Flows
        Hourly flows, kWh.
    """
    n = len(load)
    eta = math.sqrt(battery.round_trip_efficiency)
    soc = battery.soc0_kwh
    lo, hi, p = battery.soc_min_kwh, battery.energy_kwh, battery.power_kw
    imp, exp, ch, dis, socs, curt = (np.zeros(n) for _ in range(6))
    charge_hours = np.isin(periods, RULE_CHARGE_PERIODS)
    discharge_hours = np.isin(periods, RULE_DISCHARGE_PERIODS)
    for t in range(n):
        surplus = max(pv[t] - load[t], 0.0)
        deficit = max(load[t] - pv[t], 0.0)
        c = d = 0.0
        if discharge_hours[t] and deficit > 0:
            d = min(p, deficit, (soc - lo) * eta)
        else:
            room = (hi - soc) / eta
            c = min(p, room, surplus + (p if charge_hours[t] else 0.0))
        from_pv = min(c, surplus)
        leftover = surplus - from_pv
        e = min(leftover, export_limit_kw)
        imp[t] = deficit - d + (c - from_pv)
        exp[t], curt[t], ch[t], dis[t] = e, leftover - e, c, d
        soc = soc + eta * c - d / eta
        socs[t] = soc
    return Flows(imp, exp, ch, dis, socs, curt)


@dataclass(frozen=True)
class LinearProgram:
    """The dispatch LP in arrays: ``min c x`` s.t. ``row_lower <= A x <= row_upper``,
    ``lower <= x <= upper``; ``blocks`` index the variables (imp, exp, ch, dis, soc, curt)."""

    cost: FloatArray
    matrix: Any  # scipy.sparse.csc_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    lower: FloatArray
    upper: FloatArray
    blocks: tuple[npt.NDArray[np.int64], ...]


def build_lp(
    load: FloatArray,
    pv: FloatArray,
    price: FloatArray,
    feed_in: FloatArray,
    intensity: FloatArray,
    battery: BatterySpec,
    *,
    export_limit_kw: float,
    weight: float,
    allow_grid_charging: bool = True,
) -> LinearProgram:
    """The dispatch LP of the module docstring as sparse arrays (no solver involved).

    Parameters
    ----------
    load : numpy.ndarray
        Site load per hour, kWh.
    pv : numpy.ndarray
        PV generation per hour, kWh.
    price : numpy.ndarray
        Import price per hour, CNY/kWh.
    feed_in : numpy.ndarray
        Export price per hour, CNY/kWh.
    intensity : numpy.ndarray
        Grid intensity per hour, kg CO2e per kWh.
    battery : BatterySpec
        The battery (kWh, kW, fractions, CNY per kWh discharged).
    export_limit_kw : float
        Grid export limit, kW.
    weight : float
        Weight of CO2e against cost in the objective, fraction 0-1 (0 = cost only).
    allow_grid_charging : bool, default True
        Whether the battery may charge from the grid.

    Returns
    -------
    LinearProgram
        Objective, bounds and sparse constraint matrix.
    """
    import scipy.sparse as sp  # type: ignore[import-untyped]

    n = len(load)
    eta = math.sqrt(battery.round_trip_efficiency)
    mean_i = float(intensity.mean())
    scale = float(price.mean()) / mean_i if mean_i > 0 else 0.0
    imp, exp_, ch, dis, soc, curt = (np.arange(n) + k * n for k in range(6))
    cost = np.concatenate(
        [
            (1 - weight) * price + weight * scale * intensity,
            -(1 - weight) * feed_in,
            np.zeros(n),
            np.full(n, (1 - weight) * battery.degradation_cost_cny_per_kwh),
            np.zeros(n),
            np.zeros(n),
        ]
    )
    inf = np.inf
    lower = np.zeros(6 * n)
    upper = np.concatenate(
        [
            np.full(n, inf),
            # only PV beyond the hour's load is exported (the battery does not discharge into
            # the grid; net metering at the connection point)
            np.minimum(export_limit_kw, np.clip(pv - load, 0.0, None)),
            np.full(n, battery.power_kw),
            np.full(n, battery.power_kw),
            np.full(n, battery.energy_kwh),
            pv,
        ]
    )
    lower[soc] = battery.soc_min_kwh
    lower[soc[-1]] = upper[soc[-1]] = battery.soc0_kwh  # continuity over the year
    t = np.arange(n)
    rows = [t, t, t, t, t]
    cols = [imp, dis, ch, exp_, curt]
    vals = [np.ones(n), np.ones(n), -np.ones(n), -np.ones(n), -np.ones(n)]
    # soc rows: soc_t - soc_{t-1} - eta ch_t + dis_t / eta = (soc0 if t == 0 else 0)
    rows += [n + t, n + t[1:], n + t, n + t]
    cols += [soc, soc[:-1], ch, dis]
    vals += [np.ones(n), -np.ones(n - 1), np.full(n, -eta), np.full(n, 1.0 / eta)]
    row_lo = np.concatenate([load - pv, np.zeros(n)])
    row_lo[n] = battery.soc0_kwh
    row_hi = row_lo.copy()
    n_rows = 2 * n
    if not allow_grid_charging:
        # ch_t + curt_t <= pv_t: only PV (not curtailed) can charge
        rows += [n_rows + t, n_rows + t]
        cols += [ch, curt]
        vals += [np.ones(n), np.ones(n)]
        row_lo = np.concatenate([row_lo, np.full(n, -inf)])
        row_hi = np.concatenate([row_hi, pv])
        n_rows += n
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, 6 * n),
    )
    return LinearProgram(cost, a, row_lo, row_hi, lower, upper, (imp, exp_, ch, dis, soc, curt))


def _flows_of(x: FloatArray, blocks: tuple[npt.NDArray[np.int64], ...]) -> Flows:
    clean = np.where(np.abs(x) < 1e-9, 0.0, x)
    imp, exp_, ch, dis, soc, curt = blocks
    return Flows(clean[imp], clean[exp_], clean[ch], clean[dis], clean[soc], clean[curt])


def solve_highs(lp: LinearProgram, *, time_limit_s: float = 60.0) -> tuple[FloatArray, str]:
    """Solve with HiGHS through highspy; raises if not optimal.

    Parameters
    ----------
    lp : LinearProgram
        From :func:`build_lp`.
    time_limit_s : float, default 60.0
        Solver time limit, seconds.

    Returns
    -------
    tuple of (numpy.ndarray, str)
        The solution vector and the solver status.

    References
    ----------
    .. [1] Huangfu and Hall (2018), Parallelizing the dual revised simplex method, Mathematical
       Programming Computation 10, 119-142 (HiGHS).
    """
    import highspy

    inf = highspy.kHighsInf
    model = highspy.HighsLp()
    model.num_col_ = len(lp.cost)
    model.num_row_ = lp.matrix.shape[0]
    model.col_cost_ = lp.cost
    model.col_lower_ = lp.lower
    model.col_upper_ = np.where(np.isinf(lp.upper), inf, lp.upper)
    model.row_lower_ = np.where(np.isinf(lp.row_lower), -inf, lp.row_lower)
    model.row_upper_ = np.where(np.isinf(lp.row_upper), inf, lp.row_upper)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = lp.matrix.indptr
    model.a_matrix_.index_ = lp.matrix.indices
    model.a_matrix_.value_ = lp.matrix.data
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    # Presolve finds nothing to remove in this LP (every row is a balance or a state of charge)
    # and costs time: measured 1.14-1.24 s without against 1.58-1.72 s with it (8,760 h, same
    # optimum, loaded 2-core machine); IPM and the primal simplex were slower still.
    h.setOptionValue("presolve", "off")
    h.setOptionValue("time_limit", float(time_limit_s))
    h.passModel(model)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise GreenstreamError(f"dispatch LP not solved to optimality: {status}")
    return np.asarray(h.getSolution().col_value), status


def optimal_flows(
    load: FloatArray,
    pv: FloatArray,
    price: FloatArray,
    feed_in: FloatArray,
    intensity: FloatArray,
    battery: BatterySpec,
    *,
    export_limit_kw: float,
    weight: float,
    allow_grid_charging: bool = True,
    time_limit_s: float = 60.0,
) -> tuple[Flows, str]:
    """Solve the dispatch LP (module docstring) with HiGHS; returns the flows and the status.

    Parameters
    ----------
    load : numpy.ndarray
        Site load per hour, kWh.
    pv : numpy.ndarray
        PV generation per hour, kWh.
    price : numpy.ndarray
        Import price per hour, CNY/kWh.
    feed_in : numpy.ndarray
        Export price per hour, CNY/kWh.
    intensity : numpy.ndarray
        Grid intensity per hour, kg CO2e per kWh.
    battery : BatterySpec
        The battery.
    export_limit_kw : float
        Grid export limit, kW.
    weight : float
        Weight of CO2e against cost, fraction 0-1.
    allow_grid_charging : bool, default True
        Whether the battery may charge from the grid.
    time_limit_s : float, default 60.0
        Solver time limit, seconds.

    Returns
    -------
    tuple of (Flows, str)
        Hourly flows (kWh) and the solver status.
    """
    lp = build_lp(
        load,
        pv,
        price,
        feed_in,
        intensity,
        battery,
        export_limit_kw=export_limit_kw,
        weight=weight,
        allow_grid_charging=allow_grid_charging,
    )
    x, status = solve_highs(lp, time_limit_s=time_limit_s)
    return _flows_of(x, lp.blocks), status


def dispatch(
    *,
    load_kwh: Any,
    pv_kwh: Any,
    price_cny_per_kwh: Any,
    periods: Any,
    battery: BatterySpec,
    intensity_kg_per_kwh: Any,
    feed_in_cny_per_kwh: Any = 0.0,
    export_limit_kw: float | None = None,
    objective: str = "cost",
    weight: float | None = None,
    allow_grid_charging: bool = True,
) -> DispatchResult:
    """Optimal dispatch of one battery over the hours given, with both baselines.

    Parameters
    ----------
    load_kwh, pv_kwh : array
        Site load and PV generation per hour, kWh.
    price_cny_per_kwh : array
        Import price per hour (the time-of-use tariff), CNY/kWh.
    periods : array of str
        Tariff period of each hour (``valley``, ``peak``, ...; for the rule-based baseline).
    battery : BatterySpec
        Energy, power, round-trip efficiency, depth of discharge, degradation cost, initial SoC.
    intensity_kg_per_kwh : array or float
        Grid emission intensity per hour (a flat profile when only an annual factor exists).
    feed_in_cny_per_kwh : array or float
        Price paid for exported energy, CNY/kWh.
    export_limit_kw : float, optional
        Grid export limit (None: no limit).
    objective : {"cost", "co2e", "blend"}
        ``blend`` takes ``weight`` (0 = cost only, 1 = CO2e only).
    weight : float, optional
        Weight of CO2e against cost for ``blend``, fraction 0-1 (default 0.5).
    allow_grid_charging : bool
        Whether the battery may charge from the grid.
    """
    if objective not in OBJECTIVES:
        raise InputErrors.single(
            "<dispatch>", f"objective must be one of {', '.join(OBJECTIVES)}", field="objective"
        )
    w = {"cost": 0.0, "co2e": 1.0}.get(objective, 0.5 if weight is None else float(weight))
    if not 0.0 <= w <= 1.0:
        raise InputErrors.single("<dispatch>", "weight must be in 0..1", field="weight")
    load = np.clip(_as_array("load_kwh", load_kwh, len(np.atleast_1d(load_kwh))), 0, None)
    n = len(load)
    pv = np.clip(_as_array("pv_kwh", pv_kwh, n), 0.0, None)
    price = _as_array("price_cny_per_kwh", price_cny_per_kwh, n)
    feed_in = _as_array("feed_in_cny_per_kwh", feed_in_cny_per_kwh, n)
    intensity = _as_array("intensity_kg_per_kwh", intensity_kg_per_kwh, n)
    per = np.asarray(periods, dtype=str)
    limit = float("inf") if export_limit_kw is None else float(export_limit_kw)
    lp_limit = 1e12 if export_limit_kw is None else float(export_limit_kw)
    common: dict[str, Any] = {
        "load": load,
        "pv": pv,
        "price": price,
        "feed_in": feed_in,
        "intensity": intensity,
    }
    started = time.perf_counter()
    flows, status = optimal_flows(
        load,
        pv,
        price,
        feed_in,
        intensity,
        battery,
        export_limit_kw=lp_limit,
        weight=w,
        allow_grid_charging=allow_grid_charging,
    )
    solve_s = time.perf_counter() - started
    return DispatchResult(
        optimal=evaluate("optimal (LP)", flows, battery=battery, **common),
        no_battery=evaluate(
            "no battery", no_battery_flows(load, pv, limit), battery=None, **common
        ),
        rule_based=evaluate(
            "valley charge / peak discharge",
            rule_based_flows(load, pv, per, battery, limit),
            battery=battery,
            **common,
        ),
        objective=objective,
        weight=w,
        solver_status=status,
        solve_s=solve_s,
        hours=n,
    )
