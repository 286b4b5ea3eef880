"""``greenstream serve --demo``: synthetic demo data (greenstream.synth) for tenant 'demo'.

The synthetic network day is spread over two autumn peak seasons (1 October - 30 November of
the day's year and of the year before) so the dashboard has trends, weeks, months and a
same-period-last-year comparison to show: each parcel's chain moves by a whole number of days,
drawn with the weights of :data:`DEMO_CALENDAR` (synthetic demo parameters, not facts about any
company). The tenant's time zone is set to Asia/Shanghai.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np
import polars as pl
from sqlalchemy import Engine, delete, insert, select

from greenstream.api.settings import ApiSettings
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.services.upload import ingest
from greenstream.store.db import make_engine, session_factory
from greenstream.store.models import Hoc, Shipment, Toc
from greenstream.store.tenants import NewClient, create_client, get_or_create_tenant

DEMO_TENANT = "demo"
DEMO_SHIPMENTS = 120_000
DEMO_TIME_ZONE: Final = "Asia/Shanghai"
# Synthetic demo parameters (assumptions for demo data, not facts): the season's days, the
# weight of the peak day and the days around it, and the share of parcels in the later year.
DEMO_CALENDAR: Final[dict[str, float]] = {
    "season_start_month": 10,
    "season_end_month": 11,
    "peak_day_weight": 12.0,  # 11 November against an ordinary day's 1
    "peak_neighbour_weight": 3.0,  # 10 and 12 November
    "weekend_weight": 0.8,
    "later_year_share": 0.55,  # parcels of the later season (growth year on year)
}


# Synthetic points campaign of the demo (assumptions for demo data, not facts): consumers, their
# green actions in the season, the rules (a Double-11 campaign, one co-funding brand, a mangrove
# reward) and the share of consumers who redeem.
DEMO_POINTS: Final[dict[str, float]] = {
    "parcels_per_consumer": 40,  # consumers taking part: one for every 40 demo parcels
    "actions_per_consumer": 4,
    "redeeming_share": 0.4,
}
DEMO_POINTS_RULES: Final[dict[str, object]] = {
    "points_per_kg_co2e": "100",
    "daily_cap_points": 500,
    "expiry_days": 365,
    "timezone": DEMO_TIME_ZONE,
    "campaigns": [
        {
            "id": "double11",
            "multiplier": "2",
            "starts": "2026-11-01T00:00:00+08:00",
            "ends": "2026-11-12T00:00:00+08:00",
        }
    ],
    "cofunding": [
        {
            "brand": "demo-brand",
            "action": "reusable_box",
            "subsidy_fen": 20,
            "consumer_fen": 10,
            "green_fund_fen": 10,
        }
    ],
    "rewards": [
        {
            "sku": "mangrove_1m2",
            "label": "Plant 1 m2 of mangrove",
            "price_points": 100,
            "kind": "nature_project",
        }
    ],
}
# Synthetic customers of the demo shipper (assumptions for demo data, not facts): how many, and
# the Zipf exponent of their shares of the parcels (a few large accounts, a long tail).
DEMO_CUSTOMERS: Final[dict[str, float]] = {"customers": 12, "zipf_exponent": 1.1}


def assign_customers(legs: pl.DataFrame, seed: int = 11) -> pl.DataFrame:
    """``legs`` with a synthetic ``customer_id`` per shipment (all of its rows), drawn with the
    shares of :data:`DEMO_CUSTOMERS`.

    Parameters
    ----------
    legs : polars.DataFrame
        LEGS rows with ``shipment_id``.
    seed : int, optional
        The random seed (same seed, same data).

    Returns
    -------
    polars.DataFrame
        ``legs`` with ``customer_id`` (synthetic, Zipf-weighted: an assumption of the demo).

    Examples
    --------
    >>> import polars as pl
    >>> out = assign_customers(pl.DataFrame({"shipment_id": ["a", "a", "b"]}))
    >>> out.group_by("shipment_id").agg(pl.col("customer_id").n_unique()).get_column(
    ...     "customer_id").to_list()
    [1, 1]
    """
    n = int(DEMO_CUSTOMERS["customers"])
    weights = 1.0 / np.arange(1, n + 1) ** DEMO_CUSTOMERS["zipf_exponent"]
    ids = legs["shipment_id"].unique(maintain_order=True)
    pick = np.random.default_rng(seed).choice(n, size=ids.len(), p=weights / weights.sum())
    names = pl.Series("customer_id", [f"DEMO-CUSTOMER-{i + 1:02d}" for i in pick])
    return legs.join(
        pl.DataFrame({"shipment_id": ids, "customer_id": names}),
        on="shipment_id",
        how="left",
        maintain_order="left",
    )


# The demo tenant's synthetic warehouse sites for the energy view (assumptions for demo data):
# how many, and the year of their meters (the year of the demo's earlier season).
DEMO_ENERGY_SITES: Final = 8


def load_demo_energy(engine: Engine, tenant_id: int, year: int, seed: int = 11) -> None:
    """The demo tenant's synthetic sites and a year of their hourly meters
    (greenstream.levers.energy.synth, as ``greenstream energy synth`` makes them), stored as
    ``PUT /energy/sites`` and ``PUT /energy/sites/{id}/meters`` store them (once: skipped when
    the tenant has sites).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        The demo tenant.
    year : int
        The meters' calendar year.
    seed : int, optional
        The random seed (same seed, same data).
    """
    from greenstream.levers.energy.meters import hourly_from_wide
    from greenstream.levers.energy.models import EnergyMeterHour, EnergySite
    from greenstream.levers.energy.synth import synth_sites

    with session_factory(engine).begin() as session:
        if session.scalars(
            select(EnergySite.site_id).where(EnergySite.tenant_id == tenant_id).limit(1)
        ).first():
            return
    made = synth_sites(DEMO_ENERGY_SITES, seed=seed, year=year)
    hourly = hourly_from_wide(made.meters, "<demo meters>").collect()
    now = datetime.now(UTC)
    with session_factory(engine).begin() as session:
        for site in made.sites:
            session.add(
                EnergySite(
                    tenant_id=tenant_id,
                    site_id=site.site_id,
                    document=json.dumps(site.model_dump(mode="json", exclude_none=True)),
                    updated_at=now,
                )
            )
        session.execute(
            insert(EnergyMeterHour),
            [
                {"tenant_id": tenant_id, **r}
                for r in hourly.drop("consumption_basis", strict=False).to_dicts()
            ],
        )


def demo_box_count(shipments: int) -> int:
    """Reusable boxes of the demo pool: one per 100 demo parcels, at least 200 (an assumption
    for demo data, so a small demo still shows a pool's rates).

    Parameters
    ----------
    shipments : int
        Demo parcels (count).

    Returns
    -------
    int
        Boxes (count).

    Examples
    --------
    >>> demo_box_count(3000), demo_box_count(120_000)
    (200, 1200)
    """
    return max(200, shipments // 100)


def load_demo_boxes(engine: Engine, tenant_id: int, boxes: int, seed: int = 11) -> int:
    """The demo tenant's reusable box pool and drop-off stations: the synthetic EPCIS events of
    :func:`greenstream.synth.boxes.box_pool_events`, ending now, validated and captured as
    ``POST /epcis/capture`` captures them (once: skipped when the tenant has events).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        The demo tenant.
    boxes : int
        Boxes of the pool (count).
    seed : int, optional
        The random seed (same seed and hour, same events).

    Returns
    -------
    int
        Events stored (count; 0 when the tenant had events).
    """
    from greenstream.io.epcis import parse_document
    from greenstream.levers.packaging.repository import EVENTS, capture
    from greenstream.synth.boxes import box_pool_events, epcis_documents

    with engine.connect() as conn:
        if conn.execute(
            select(EVENTS.c.id).where(EVENTS.c.tenant_id == tenant_id).limit(1)
        ).first():
            return 0
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    stored = 0
    for i, document in enumerate(epcis_documents(box_pool_events(boxes, end, seed=seed))):
        result = capture(engine, tenant_id, parse_document(document, file=f"<demo boxes {i}>"))
        stored += result.stored
    return stored


DEMO_ACTIONS: Final = (
    "reusable_box",
    "original_packaging",
    "pickup_station",
    "consolidated_delivery",
)


def load_demo_points(database_url: str | None, shipments: int, seed: int = 11) -> None:
    """The demo tenant's points campaign: rules, consumers' green actions over October and
    November 2026, mangrove stock and redemptions (once: skipped when the rules exist).

    Parameters
    ----------
    database_url : str or None
        The store's URL.
    shipments : int
        Shipments of the demo season (count), which sizes the campaign.
    seed : int, optional
        The random seed (same seed, same data).
    """
    from greenstream.points.ledger import InsufficientPoints, Ledger, NoRules

    ledger = Ledger(database_url, migrate=False)
    try:
        try:
            ledger.rules(DEMO_TENANT)
            return  # already loaded
        except NoRules:
            pass
        ledger.set_rules(DEMO_TENANT, DEMO_POINTS_RULES, file="<demo rules>")
        rng = np.random.default_rng(seed)
        users = max(1, int(shipments / DEMO_POINTS["parcels_per_consumer"]))
        n = int(users * DEMO_POINTS["actions_per_consumer"])
        start = datetime(2026, 10, 1, 2, tzinfo=UTC)
        minutes = rng.integers(0, 61 * 24 * 60, size=n)
        who = rng.integers(0, users, size=n)
        what = rng.integers(0, len(DEMO_ACTIONS), size=n)
        events = [
            {
                "event_id": f"demo-{i}",
                "user_id": f"c{int(who[i]):05d}",
                "action": DEMO_ACTIONS[int(what[i])],
                "occurred_at": (start + timedelta(minutes=int(minutes[i]))).isoformat(),
                "order_id": f"o{i}",
                "brand": "demo-brand" if DEMO_ACTIONS[int(what[i])] == "reusable_box" else None,
            }
            for i in range(n)
        ]
        ledger.record_batch(DEMO_TENANT, events, file="<demo events>")
        ledger.stock(DEMO_TENANT, "mangrove_1m2", users, key="demo-stock")
        redeemers = rng.choice(
            users, size=int(users * DEMO_POINTS["redeeming_share"]), replace=False
        )
        for u in sorted(int(x) for x in redeemers):
            try:
                ledger.redeem(DEMO_TENANT, f"c{u:05d}", "mangrove_1m2", 1, key=f"demo-r{u}")
            except InsufficientPoints:
                continue
    finally:
        ledger.close()


def demo_day_offsets(day: date, n: int, seed: int = 11) -> np.ndarray:
    """Days to add to each of ``n`` parcels of ``day`` so they fall on the demo calendar.

    Parameters
    ----------
    day : datetime.date
        The generated day.
    n : int
        Parcels (count).
    seed : int, optional
        The random seed (same seed, same data).

    Returns
    -------
    numpy.ndarray
        Days to add to each parcel (integers).
    """
    c = DEMO_CALENDAR
    rng = np.random.default_rng(seed)
    seasons = []
    for year, share in (
        (day.year - 1, 1.0 - c["later_year_share"]),
        (day.year, c["later_year_share"]),
    ):
        start = date(year, int(c["season_start_month"]), 1)
        end = date(year, int(c["season_end_month"]) + 1, 1)
        days = [start + timedelta(days=i) for i in range((end - start).days)]
        weights = np.array([_weight(d) for d in days])
        seasons.append((days, share * weights / weights.sum()))
    all_days = [d for days, _ in seasons for d in days]
    probs = np.concatenate([p for _, p in seasons])
    pick = rng.choice(len(all_days), size=n, p=probs / probs.sum())
    offsets = np.array([(d - day).days for d in all_days])
    return offsets[pick]


def _weight(d: date) -> float:
    c = DEMO_CALENDAR
    if (d.month, d.day) == (11, 11):
        return c["peak_day_weight"]
    if (d.month, d.day) in ((11, 10), (11, 12)):
        return c["peak_neighbour_weight"]
    return c["weekend_weight"] if d.weekday() >= 5 else 1.0


def spread_over_calendar(legs: pl.DataFrame, day: date, seed: int = 11) -> pl.DataFrame:
    """``legs`` with each shipment's times moved by its :func:`demo_day_offsets` days.

    Parameters
    ----------
    legs : polars.DataFrame
        LEGS rows of one generated day.
    day : datetime.date
        That day.
    seed : int, optional
        The random seed (same seed, same data).

    Returns
    -------
    polars.DataFrame
        ``legs`` with ``departure_at`` and ``arrival_at`` moved.
    """
    ids = legs["shipment_id"].unique(maintain_order=True)
    shift = pl.DataFrame(
        {"shipment_id": ids, "__days": demo_day_offsets(day, ids.len(), seed)}
    ).with_columns(pl.duration(days=pl.col("__days")).alias("__shift"))
    moved = legs.join(shift, on="shipment_id", how="left", maintain_order="left")
    times = [c for c in ("departure_at", "arrival_at") if c in legs.columns]
    return moved.with_columns([(pl.col(c) + pl.col("__shift")).alias(c) for c in times]).drop(
        "__days", "__shift"
    )


def load_demo(
    settings: ApiSettings,
    shipments: int = DEMO_SHIPMENTS,
    progress: Callable[[str], None] | None = None,
) -> NewClient:
    """Publish the synthetic TOCs / HOCs and upload the demo season (once) for tenant 'demo';
    build its dashboard facts; return a new client of that tenant.

    Parameters
    ----------
    settings : ApiSettings
        The API's settings (the store).
    shipments : int, optional
        Shipments of the demo season (count).
    progress : callable or None, optional
        Called with a line of progress text.

    Returns
    -------
    NewClient
        A new client of tenant ``demo`` (its secret shown once).
    """
    from greenstream.services.analytics import refresh_facts, set_tenant_time_zone
    from greenstream.synth import generate_network_day
    from greenstream.synth.network import DAY

    say = progress or (lambda _text: None)
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        tenant = get_or_create_tenant(session, DEMO_TENANT, "greenstream demo logistics")
        tenant_id = tenant.id
        already = session.scalars(
            select(Shipment.id).where(Shipment.tenant_id == tenant_id).limit(1)
        ).first()
        client = create_client(session, DEMO_TENANT)
    if already is None:
        say(f"generating {shipments:,} demo parcels")
        data = generate_network_day(shipments=shipments, seed=11)
        legs = assign_customers(spread_over_calendar(data["legs"], DAY.date()))
        now = datetime.now(UTC)
        with sessions.begin() as session:
            session.execute(delete(Toc).where(Toc.tenant_id == tenant_id))
            session.execute(delete(Hoc).where(Hoc.tenant_id == tenant_id))
            for row in data["tocs"].to_dicts():
                session.add(
                    Toc(
                        tenant_id=tenant_id,
                        pf_id=str(uuid.uuid4()),
                        created_at=now,
                        updated_at=now,
                        **{k: row.get(k) for k in _TOC_FIELDS},
                    )
                )
            for row in data["hocs"].to_dicts():
                session.add(
                    Hoc(
                        tenant_id=tenant_id,
                        pf_id=str(uuid.uuid4()),
                        created_at=now,
                        updated_at=now,
                        **{k: row.get(k) for k in _HOC_FIELDS},
                    )
                )
        say(f"computing and storing {legs.height:,} chain elements")
        ingest(
            engine,
            tenant_id,
            legs,
            trips=data.get("trips"),
            registry=Registry.builtin(),
            gazetteer=Gazetteer.builtin(),
            source="greenstream synth (demo)",
        )
        set_tenant_time_zone(engine, tenant_id, DEMO_TIME_ZONE)
    say("loading the demo points campaign")
    load_demo_points(settings.database_url, shipments)
    say("loading the demo energy sites")
    load_demo_energy(engine, tenant_id, year=DAY.year - 1)
    say("loading the demo box pool and drop-off stations")
    load_demo_boxes(engine, tenant_id, demo_box_count(shipments))
    say("building the dashboard facts")
    refresh_facts(engine, tenant_id)
    engine.dispose()
    return client


_TOC_FIELDS = (
    "toc_id",
    "mode",
    "intensity_wtw_kg_per_tkm",
    "intensity_ttw_kg_per_tkm",
    "data_type",
    "description",
)
_HOC_FIELDS = (
    "hoc_id",
    "hub_type",
    "intensity_wtw_kg_per_t",
    "intensity_ttw_kg_per_t",
    "data_type",
    "description",
)
