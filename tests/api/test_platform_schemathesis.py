"""Property-based tests of the whole OpenAPI document: schemathesis generates requests for every
operation (valid and invalid ones) and runs every check it has (no server error; status code,
content type, headers and body as documented; invalid data refused, valid data accepted; auth
enforced; ...) against the app on SQLite and on PostgreSQL, authenticated as a tenant with stored
data. Bounded (``GREENSTREAM_SCHEMATHESIS_EXAMPLES`` per operation and mode, default 5) and
derandomized, so a run is fast and repeatable.

The OpenAPI document states every rule a JSON schema can; the documented rules it cannot state
are taught to the generator here, so that "valid" data really is valid:

- ``$filter`` has the custom format ``pact-odata-filter``: conjunctions of the comparisons and
  ``any`` lambdas of PACT v2.3 §api-action-list-filtering (:func:`filters`);
- TOC / HOC rows: TTW intensity not above WTW;
- uploads: the rows of a shipment consecutive, each shipment with transport activity, every
  figure finite (mass x distance below the double range), references (places, TOCs, HOCs,
  trips, vehicles) resolvable: generated rows carry only the columns whose values the schema
  bounds, and an uploaded file is a CSV of such rows.

- a period (dashboard filters, reports): ``from`` not after ``to``;
- ``/packaging/pack``: ``box_type`` unique in a suite, outer dimensions not below the inner ones,
  a reusable box type with ``design_cycles``; at most 100 units per order and 10,000 per
  request;
- ``/reductions/targets/assess``: the target year after the base year, the base year in the
  history with a value above 0, ``activity`` on every row of an intensity target;
- ``/reductions/placement``: ids unique, capacity covering demand, ``current`` naming listed
  regions and warehouses;
- ``PUT /points/rules``: a campaign ends after it starts, co-funding parts add up, ids and pairs
  unique, a parameter value sourced or an assumption with a reason, and no enabled action
  adding CO2e with the tenant's parameters (docs/points.md).

Operations whose body is a file of another format, or whose rules live in a schema the document
does not restate, accept a 400 naming the bad row as an answer to a schema-valid request
(:data:`FILE_BODIES`, each with its reason; docs/platform.md "What the OpenAPI document cannot
state"). Every other check stays on for them, and every check stays on for every other
operation.

``POST /auth/token`` is left out: it takes HTTP Basic credentials its operation does not declare
(the access branch owns that route). The ``/points`` operations run in a test of their own, with
the same checks.
"""

from __future__ import annotations

import os
import string
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from platform_helpers import SECRET, WORKED_TOC, worked_legs
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from greenstream.api.app import create_app
from greenstream.api.errors import FILTER_FORMAT
from greenstream.api.settings import ApiSettings
from greenstream.points.catalogue import Parameter, tenant_catalogue
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import create_client

EXAMPLES = int(os.environ.get("GREENSTREAM_SCHEMATHESIS_EXAMPLES", "5"))
LEG_KEYS = {
    "shipment_id",
    "tce_id",
    "mass_kg",
    "mode",
    "distance_km",
    "distance_basis",
    "temperature_control",
    "hub_type",
    "departure_at",
    "arrival_at",
}


# --------------------------------------------------------------------------------------------
# the documented rules JSON Schema cannot state
# --------------------------------------------------------------------------------------------

_STAMP = st.datetimes(
    min_value=__import__("datetime").datetime(1990, 1, 1),
    max_value=__import__("datetime").datetime(2100, 1, 1),
).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))
_TEXT = st.text(string.ascii_letters + string.digits + " -_.:'", max_size=12)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def _clause(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["stamp", "text", "any"]))
    op = draw(st.sampled_from(["eq", "lt", "le", "gt", "ge"]))
    if kind == "stamp":
        prop = draw(
            st.sampled_from(
                ["created", "updated", "pcf/referencePeriodStart", "pcf/referencePeriodEnd"]
            )
        )
        clause = f"{prop} {op} {_quoted(draw(_STAMP))}"
    elif kind == "text":
        prop = draw(st.sampled_from(["productCategoryCpc", "pcf/geographyCountry", "id", "status"]))
        clause = f"{prop} {op} {_quoted(draw(_TEXT))}"
    else:
        prop = draw(st.sampled_from(["productIds", "companyIds"]))
        clause = f"{prop}/any(p:(p eq {_quoted(draw(_TEXT))}))"
    return f"({clause})" if draw(st.booleans()) else clause


def filters() -> st.SearchStrategy[str]:
    """Conjunctions of PACT filter clauses (the format ``pact-odata-filter``)."""
    return st.lists(_clause(), min_size=1, max_size=3).map(" and ".join)


def _intensities_ordered(rows: Any, wtw: str, ttw: str) -> bool:
    """TTW not above WTW, and each id once per request."""
    if not isinstance(rows, list):
        return True
    ids = [r.get("toc_id", r.get("hoc_id")) for r in rows if isinstance(r, dict)]
    return len(ids) == len(set(ids)) and all(
        not isinstance(r, dict) or r.get(ttw, 0) <= r.get(wtw, float("inf")) for r in rows
    )


def _legs_valid(legs: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The generated rows restricted to the bounded columns, or None when they break a
    documented cross-row rule."""
    rows = [{k: v for k, v in leg.items() if k in LEG_KEYS} for leg in legs]
    seen: list[str] = []
    activity: dict[str, float] = {}
    for row in rows:
        sid = row["shipment_id"]
        if seen and sid in seen and seen[-1] != sid:
            return None  # not consecutive
        seen.append(sid)
        if "hub_type" in row and "mode" not in row:
            continue
        mass, distance = float(row["mass_kg"]), float(row.get("distance_km", 0))
        tkm = mass / 1000.0 * distance  # as the kernel computes it (it may underflow to 0)
        # figures must stay finite, after the distance adjustment (x 1.3 at most) and the
        # uncertainty band too
        if tkm >= 1e290 or distance >= 1e300:
            return None
        activity[sid] = activity.get(sid, 0.0) + tkm
    if any(activity.get(sid, 0.0) <= 0 for sid in seen):
        return None  # a shipment without transport activity
    return rows


def _with_filter(pair: tuple[schemathesis.Case, str]) -> schemathesis.Case:
    """A positive ``$filter`` is one of the documented format (generated values of a custom
    format can also come from strings elsewhere in the document)."""
    case, flt = pair
    if isinstance(case.query, dict) and "$filter" in case.query:
        case.query["$filter"] = flt
    return case


def _fix_case(case: schemathesis.Case) -> schemathesis.Case | None:
    """Apply the documented rules to a positive case (None: drop it)."""
    path, body = case.operation.path, case.body
    if not _dates_ordered(case.query):
        return None
    if path == "/packaging/pack" and isinstance(body, dict):
        return case if _suite_valid(body.get("suite")) and _units_bounded(body) else None
    if path == "/reductions/targets/assess":
        return case if _target_valid(body) else None
    if path == "/dashboard/target" and isinstance(case.query, dict):
        # documented rule across parameters: the target year comes after the base year
        ordered = case.query.get("target_year", 0) > case.query.get("base_year", 0)
        return case if ordered else None
    if path == "/reductions/placement":
        return case if _placement_valid(body) else None
    if path == "/points/rules":
        return case if _points_rules_valid(body) else None
    if path in ("/tocs", "/hocs"):
        unit = "tkm" if path == "/tocs" else "t"
        ok = _intensities_ordered(
            body, f"intensity_wtw_kg_per_{unit}", f"intensity_ttw_kg_per_{unit}"
        )
        return case if ok else None
    if path == "/shipments" and isinstance(body, dict):
        legs = _legs_valid(body.get("legs") or [])
        if legs is None:
            return None
        for kind, unit in (("tocs", "tkm"), ("hocs", "t")):
            if not _intensities_ordered(
                body.get(kind), f"intensity_wtw_kg_per_{unit}", f"intensity_ttw_kg_per_{unit}"
            ):
                return None
        case.body = {"legs": legs, "tocs": body.get("tocs"), "hocs": body.get("hocs")}
        return case
    if path == "/shipments/file" and isinstance(body, dict):
        case.body = {"file": ("legs.csv", b"shipment_id,mass_kg,mode,distance_km\nF1,10,road,5\n")}
    return case


def _dates_ordered(query: Any) -> bool:
    if not isinstance(query, dict) or not query.get("from") or not query.get("to"):
        return True
    return str(query["from"]) <= str(query["to"])


def _suite_valid(suite: Any) -> bool:
    if not isinstance(suite, list):
        return True
    boxes = [b for b in suite if isinstance(b, dict)]
    names = [b.get("box_type", "").strip() for b in boxes]
    if len(names) != len(set(names)):
        return False
    for box in boxes:
        if box.get("reusable") and box.get("design_cycles") is None:
            return False
        for axis in ("length", "width", "height"):
            outer = box.get(f"outer_{axis}_mm")
            if outer is not None and outer < box.get(f"inner_{axis}_mm", 0):
                return False
    return True


def _units_bounded(body: dict[str, Any]) -> bool:
    """At most 100 units per order, 10,000 per request (api/routes/packaging.py)."""
    units: dict[str, int] = {}
    for line in body.get("orders") or []:
        if isinstance(line, dict):
            key = line.get("order_id", "")
            units[key] = units.get(key, 0) + int(line.get("quantity", 1))
    return sum(units.values()) <= 10_000 and all(n <= 100 for n in units.values())


def _target_valid(body: Any) -> bool:
    if not isinstance(body, dict):
        return True
    history = [h for h in body.get("history") or [] if isinstance(h, dict)]
    base = [h for h in history if h.get("year") == body.get("base_year")]
    intensity = body.get("kind") == "intensity"
    if intensity and any(h.get("activity") is None for h in history):
        return False
    return (
        body.get("target_year", 0) > body.get("base_year", 0)
        and bool(base)
        and all(h.get("co2e_t", 0) > 0 for h in base)
    )


def _placement_valid(body: Any) -> bool:
    if not isinstance(body, dict):
        return True
    regions = body.get("regions") or []
    warehouses = body.get("warehouses") or []
    r_ids = [r.get("region_id") for r in regions]
    w_ids = [w.get("warehouse_id") for w in warehouses]
    if len(set(r_ids)) != len(r_ids) or len(set(w_ids)) != len(w_ids):
        return False
    demand = sum(r.get("demand_parcels_per_day", 0) for r in regions)
    if demand > sum(w.get("capacity_parcels_per_day", 0) for w in warehouses):
        return False
    return all(
        c.get("region_id") in r_ids and c.get("warehouse_id") in w_ids
        for c in body.get("current") or []
    )


def _unique(items: list[Any]) -> bool:
    return len(items) == len(set(items))


def _points_rules_valid(body: Any) -> bool:
    """The rules across the fields of a points rules document (docs/points.md, Rules): a
    campaign ends after it starts, co-funding parts add up, ids and pairs unique, a parameter
    value sourced or an assumption with a reason, and no enabled action adding CO2e with the
    tenant's parameters (the catalogue priced again by the kernel)."""
    if not isinstance(body, dict):
        return True
    campaigns = body.get("campaigns") or []
    cofunding = body.get("cofunding") or []
    parameters = body.get("parameters") or []
    if any(
        datetime.fromisoformat(c["ends"]) <= datetime.fromisoformat(c["starts"]) for c in campaigns
    ):
        return False
    if any(
        c.get("consumer_fen", 0) + c.get("green_fund_fen", 0) != c.get("subsidy_fen", 0)
        for c in cofunding
    ):
        return False
    if not (
        _unique([c["id"] for c in campaigns])
        and _unique([(c["brand"], c["action"]) for c in cofunding])
        and _unique([r["sku"] for r in body.get("rewards") or []])
        and _unique([(p.get("action", "*"), p["parameter"]) for p in parameters])
    ):
        return False
    for p in parameters:
        if not p.get("assumption", False) and not p.get("source"):
            return False
        if p.get("assumption", False) and not p.get("reason"):
            return False
    if not parameters:
        return True
    overrides = tuple(
        sorted(
            (p.get("action", "*"), p["parameter"], Parameter(p["value"], "", "x", False, ""))
            for p in parameters
        )
    )
    catalogue = tenant_catalogue(overrides)
    enabled = body.get("actions") or list(catalogue.actions)
    return all(catalogue.actions[a].saving_per_unit_mg >= 0 for a in enabled)


# The operations whose body is a file of another format or a document checked against a schema
# the OpenAPI document does not restate: a schema-valid request may be refused with 400 (the
# answer names every bad row), and that is the documented behaviour (docs/platform.md).
FILE_BODIES: dict[tuple[str, str], str] = {
    ("PUT", "/energy/sites"): "a YAML / JSON site file: cross references between a site's "
    "meters, groups and arrays, checked by the site reader",
    ("PUT", "/energy/sites/{site_id}/meters"): "a CSV meter file (long or wide): columns and "
    "rows checked by the meter reader",
    ("POST", "/energy/certificates"): "a CSV of retired certificates: columns and rows checked "
    "by the certificate reader",
    ("POST", "/epcis/capture"): "an EPCIS 2.0 document: validated against the GS1 EPCIS 2.0 "
    "JSON Schema and the CBV, which the OpenAPI document does not restate",
    ("POST", "/epcis/events"): "one EPCIS 2.0 event: as /epcis/capture",
    ("POST", "/reductions/runs"): "initiatives whose required fields depend on their kind and "
    "on the factor registry (road vehicle classes, activity factor ids), and legs / activities "
    "tagged with initiative ids: rules across rows and against the registry",
    ("POST", "/reductions/forecast"): "a daily history that must end before the window and be "
    "long enough for the backtest's windows: rules on the rows against other fields",
}
ACCEPTED_WITH_400 = ["2xx", "400", "401", "403", "404", "409", "429"]


def _config() -> schemathesis.config.SchemathesisConfig:
    return schemathesis.config.SchemathesisConfig.from_dict(
        {
            "operations": [
                {
                    # one filter naming the operation: separate method and path filters would
                    # match every operation with that method or that path (schemathesis ORs
                    # the include filters of an entry)
                    "include-name": f"{method} {path}",
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": ACCEPTED_WITH_400}
                    },
                }
                for method, path in FILE_BODIES
            ]
        }
    )


# --------------------------------------------------------------------------------------------
# the app
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, dict[str, str]]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('st') / 'st.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    upgrade(url)
    app = create_app(
        ApiSettings(
            database_url=url,
            secret_key=SECRET,
            job_threshold_tces=50,
            max_body_bytes=10**6,
            max_upload_rows=500,
        )
    )
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        who = create_client(session, f"fuzz-{uuid.uuid4().hex[:6]}")
    engine.dispose()
    with TestClient(app, base_url="https://testserver") as client:
        r = client.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(who.client_id, who.client_secret),
        )
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert client.put("/tocs", json=[WORKED_TOC], headers=headers).status_code == 200
        r = client.post("/shipments", json={"legs": worked_legs("S1")}, headers=headers)
        assert r.status_code == 201
        yield app, headers


def _run(served: tuple[Any, dict[str, str]], *, points: bool) -> list[str]:
    app, headers = served
    schemathesis.openapi.format(FILTER_FORMAT, filters())
    api_schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config())
    operations = [op.ok() for op in api_schema.get_all_operations()]
    failures: list[str] = []
    # /auth/token takes HTTP Basic client credentials, which its operation does not declare yet
    # (the access branch owns it); /points in its own test (below)
    chosen = [
        op
        for op in operations
        if op.path != "/auth/token" and op.path.startswith("/points") == points
    ]
    assert len(chosen) >= 10
    for operation in chosen:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode)
            if mode is GenerationMode.POSITIVE:
                strategy = (
                    st.tuples(strategy, filters())
                    .map(_with_filter)
                    .map(_fix_case)
                    .filter(lambda c: c is not None)
                )

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def check(case: schemathesis.Case) -> None:
                # the tenant's token, unless the case is about its headers (auth missing or
                # malformed on purpose)
                mutated = case.meta is not None and case.meta.is_negative_at(
                    ParameterLocation.HEADER
                )
                if not mutated:
                    case.headers = {**(case.headers or {}), **headers}
                # schemathesis' ignored_auth expects 401 / 403 for a request without a token;
                # the PACT v2.3 actions answer 400 BadRequest ("in all other cases", decision
                # 0050), which tests/api/test_pact_conformance.py checks against the spec
                pact_action = case.operation.path.startswith("/2/")
                case.call_and_validate(
                    excluded_checks=[schemathesis.checks.ignored_auth] if pact_action else None
                )

            try:
                check()
            except Unsatisfiable:
                continue  # no invalid request exists (an operation without parameters)
            except (Exception, BaseExceptionGroup) as exc:  # one report for every operation
                failures.append(f"{operation.label} [{mode}]: {exc}"[:3000])
    return failures


def test_every_check_on_every_operation(served: tuple[Any, dict[str, str]]) -> None:
    failures = _run(served, points=False)
    assert failures == [], "\n\n".join(failures)


def test_every_check_on_the_points_operations(served: tuple[Any, dict[str, str]]) -> None:
    failures = _run(served, points=True)
    assert failures == [], "\n\n".join(failures)
