"""Request bodies of the points API (``/points``): every rule a JSON schema can state is in the
types, so the OpenAPI document says what is refused (400) and a body it allows is taken.

Ids carry no control character and no surrounding whitespace (the ledger strips it, so a blank
id would be none); ids that are path segments (``order_id``, ``sku``) hold no ``/``. Lengths are
those of the ledger's columns (:mod:`greenstream.points.models`). Decimals are strings with at
most 4 places (docs/points.md, Rules); integers are JSON integers (``5`` or ``5.0``; ``"5"``
and ``true`` are refused). Times are RFC 3339 date-times with an offset, years 1970 to 2999: an event or campaign
outside is a clock error, and the local day of every accepted time is a calendar date.

The rules of a rules document across fields, which a JSON schema cannot state, are checked by
:func:`greenstream.points.rules.parse_rules` with the field named (400): a campaign ends after it
starts; ``consumer_fen + green_fund_fen = subsidy_fen``; campaign ids, SKUs, (brand, action) and
(action, parameter) pairs unique; a parameter value has a ``source`` or ``assumption = true``
with a ``reason``; and with the tenant's parameters no enabled action may add CO2e
(:func:`greenstream.points.ledger.tenant_rules.adding_actions`).

The action ids and the overridable parameters are those of ``points/data/actions.csv`` and
``points/data/action_parameters.csv`` (``tests/points/test_points_api_schema.py`` checks that
they agree).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict

from greenstream.api.schemas import DATE_TIME_PATTERN, TIME_ZONE_SCHEMA, TIME_ZONE_SET

# --------------------------------------------------------------------------------------------
# text and numbers
# --------------------------------------------------------------------------------------------

_CONTROL = r"\x00-\x1f\x7f"
# whitespace of every regular expression dialect that reads these patterns (ECMA-262 ``\s``,
# Unicode White_Space as Python's ``str.strip`` and Rust's ``regex`` see it), spelt out: the
# dialects disagree on U+0085 and U+FEFF
_SPACE = r"\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# no control character, no surrounding whitespace
NAME_PATTERN = rf"^[^{_SPACE}{_CONTROL}](?:[^{_CONTROL}]*[^{_SPACE}{_CONTROL}])?$"
# the same without '/': a path segment
SEGMENT_PATTERN = rf"^[^{_SPACE}{_CONTROL}/](?:[^{_CONTROL}/]*[^{_SPACE}{_CONTROL}/])?$"
TEXT_PATTERN = rf"^[^{_CONTROL}]*$"
# free text that is empty or says something (a blank source is no source)
SAID_PATTERN = rf"^(?:|[^{_CONTROL}]*[^{_SPACE}{_CONTROL}][^{_CONTROL}]*)$"

# decimals as strings, at most 4 places
_PLACES = r"(?:\.[0-9]{1,4})?"
_POSITIVE_FRACTION = r"0\.(?:[1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9])"
POINTS_PER_KG_PATTERN = rf"^(?:0|[1-9][0-9]{{0,3}}){_PLACES}$"  # 0 to 9999.9999
MULTIPLIER_PATTERN = rf"^(?:0|[1-9][0-9]?){_PLACES}$"  # 0 to 99.9999
MASS_KG_PATTERN = rf"^(?:{_POSITIVE_FRACTION}|[1-9][0-9]{{0,2}}{_PLACES})$"  # (0, 1000) kg
DISTANCE_KM_PATTERN = (  # (0, 20000) km: half the Earth's circumference
    rf"^(?:{_POSITIVE_FRACTION}|(?:[1-9][0-9]{{0,3}}|1[0-9]{{4}}){_PLACES})$"
)
USES_PATTERN = r"^[1-9][0-9]{0,4}$"  # 1 to 99999 uses
SHARE_PATTERN = r"^(?:0(?:\.[0-9]{1,4})?|1(?:\.0{1,4})?)$"  # 0 to 1


def _calendar_date(text: str) -> str:
    """The date-time as given, when its day exists (the pattern does not know month lengths)."""
    datetime.fromisoformat(text)  # ValueError: "day is out of range for month"
    return text


def _json_integer(value: object) -> object:
    """A JSON integer: a number without fraction (``5`` or ``5.0``), never a string or a bool
    (the number is then converted, and a fraction refused, by the ``int`` type)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer")
    return value


JSON_INTEGER = BeforeValidator(_json_integer)


def _supported_zone(name: str) -> str:
    if name not in TIME_ZONE_SET:
        raise ValueError(f"time zone {name!r} is not supported")
    return name


DateTimeText = Annotated[
    str,
    Field(
        pattern=DATE_TIME_PATTERN,
        json_schema_extra={"format": "date-time"},
        description="RFC 3339 with an offset, years 1970-2999",
    ),
    AfterValidator(_calendar_date),
]
TimeZoneName = Annotated[
    str,
    Field(description="IANA time zone", json_schema_extra=TIME_ZONE_SCHEMA),
    AfterValidator(_supported_zone),
]
EventId = Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN)]
UserId = Annotated[str, Field(min_length=1, max_length=128, pattern=NAME_PATTERN)]
OrderId = Annotated[str, Field(min_length=1, max_length=128, pattern=SEGMENT_PATTERN)]
Brand = Annotated[str, Field(min_length=1, max_length=128, pattern=NAME_PATTERN)]
CampaignId = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]
# an inventory unit is 'item:<sku>' in a 72-character column
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=SEGMENT_PATTERN)]
IdempotencyKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=rf"^[^{_CONTROL}]+$",
        description="the same key again replays the first result; a key is for one request",
    ),
]
Label = Annotated[str, Field(max_length=200, pattern=TEXT_PATTERN)]
Said = Annotated[str, Field(max_length=2000, pattern=SAID_PATTERN)]

# the catalogue's actions (points/data/actions.csv)
ActionId = Literal[
    "reusable_box", "original_packaging", "pickup_station", "consolidated_delivery",
    "carton_return",
]  # fmt: skip
ActionOrAll = Literal[
    "*", "reusable_box", "original_packaging", "pickup_station", "consolidated_delivery",
    "carton_return",
]  # fmt: skip

# --------------------------------------------------------------------------------------------
# action events
# --------------------------------------------------------------------------------------------


class EventIn(BaseModel):
    """One action event (docs/points.md, Action events)."""

    model_config = ConfigDict(extra="forbid")

    event_id: EventId = Field(description="idempotency key, unique per tenant")
    user_id: UserId = Field(description="the consumer's pseudonymous id")
    action: ActionId = Field(description="a catalogue action the tenant's rules enable")
    occurred_at: DateTimeText = Field(description="decides the campaign and the cap's day")
    quantity: Annotated[
        int, Field(ge=1, le=1000, description="units of the action"), JSON_INTEGER
    ] = 1
    order_id: OrderId | None = Field(None, description="reverses the award when returned")
    brand: Brand | None = Field(None, description="the brand shipping the order (co-funding)")


class EventBatch(BaseModel):
    """Action events, recorded together (all checked first; nothing written on a bad row)."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=100_000)


# --------------------------------------------------------------------------------------------
# rewards and funds
# --------------------------------------------------------------------------------------------


class RedeemIn(BaseModel):
    """A redemption: ``quantity`` units of the reward ``sku``."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=1000, description="units redeemed"), JSON_INTEGER] = 1
    idempotency_key: IdempotencyKey


class StockIn(BaseModel):
    """Units added to a reward's inventory."""

    model_config = ConfigDict(extra="forbid")

    quantity: Annotated[int, Field(ge=1, le=1_000_000_000), JSON_INTEGER]
    idempotency_key: IdempotencyKey


class SpendIn(BaseModel):
    """A green-fund payout to a project, fen (0.01 yuan)."""

    model_config = ConfigDict(extra="forbid")

    project: Annotated[str, Field(min_length=1, max_length=128, pattern=rf"^[^{_CONTROL}]+$")]
    amount_fen: Annotated[int, Field(ge=1, le=10**12), JSON_INTEGER]
    idempotency_key: IdempotencyKey


# --------------------------------------------------------------------------------------------
# the rules document
# --------------------------------------------------------------------------------------------

Fen = Annotated[int, Field(ge=0, le=100_000_000, description="fen per unit"), JSON_INTEGER]


class CampaignIn(BaseModel):
    """A time-limited multiplier of the CO2e points (``ends`` exclusive, after ``starts``)."""

    model_config = ConfigDict(extra="forbid")

    id: CampaignId
    multiplier: Annotated[str, Field(pattern=MULTIPLIER_PATTERN)] = "1"
    starts: DateTimeText
    ends: DateTimeText
    actions: list[ActionId] = Field(default_factory=list, max_length=100)


class CofundingIn(BaseModel):
    """A brand's subsidy per unit of an action: ``consumer_fen + green_fund_fen = subsidy_fen``."""

    model_config = ConfigDict(extra="forbid")

    brand: Brand
    action: ActionId
    subsidy_fen: Fen = 0
    consumer_fen: Fen = 0
    green_fund_fen: Fen = 0


class RewardIn(BaseModel):
    """A reward consumers spend points on (the label defaults to the SKU)."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    label: Label | None = None
    price_points: Annotated[int, Field(ge=1, le=1_000_000_000), JSON_INTEGER]
    kind: Literal["coupon", "nature_project"] = "coupon"


class _Override(BaseModel):
    """A tenant's value for a catalogue parameter: with a ``source``, or ``assumption = true``
    and a ``reason``."""

    model_config = ConfigDict(extra="forbid")

    source: Said = ""
    assumption: Annotated[bool, Strict()] = False
    reason: Said = ""


class MassOverride(_Override):
    """A mass shared by every action (kg, above 0 and below 1000)."""

    action: ActionOrAll = "*"
    parameter: Literal["goods_mass_kg", "carton_mass_kg"]
    value: Annotated[str, Field(pattern=MASS_KG_PATTERN)]


class DistanceOverride(_Override):
    """A distance shared by every action (km, above 0 and below 20000)."""

    action: ActionOrAll = "*"
    parameter: Literal[
        "linehaul_distance_km", "home_delivery_distance_km", "station_delivery_distance_km"
    ]
    value: Annotated[str, Field(pattern=DISTANCE_KM_PATTERN)]


class BoxMassOverride(_Override):
    """The reusable box's mass (kg, above 0 and below 1000)."""

    action: Literal["reusable_box"]
    parameter: Literal["box_mass_kg"]
    value: Annotated[str, Field(pattern=MASS_KG_PATTERN)]


class BoxReturnOverride(_Override):
    """The empty reusable box's way back (km, above 0 and below 20000)."""

    action: Literal["reusable_box"]
    parameter: Literal["box_return_distance_km"]
    value: Annotated[str, Field(pattern=DISTANCE_KM_PATTERN)]


class BoxUsesOverride(_Override):
    """The reusable box's design uses (a whole number, 1 to 99999)."""

    action: Literal["reusable_box"]
    parameter: Literal["box_use_cycles"]
    value: Annotated[str, Field(pattern=USES_PATTERN)]


class ReuseShareOverride(_Override):
    """The share of returned cartons reused (0 to 1; the rest is recycled)."""

    action: Literal["carton_return"]
    parameter: Literal["reuse_share"]
    value: Annotated[str, Field(pattern=SHARE_PATTERN)]


ParameterOverride = Annotated[
    MassOverride
    | DistanceOverride
    | BoxMassOverride
    | BoxReturnOverride
    | BoxUsesOverride
    | ReuseShareOverride,
    Field(discriminator="parameter"),
]
OVERRIDES: tuple[type[_Override], ...] = (
    MassOverride,
    DistanceOverride,
    BoxMassOverride,
    BoxReturnOverride,
    BoxUsesOverride,
    ReuseShareOverride,
)


class RulesIn(BaseModel):
    """A tenant's rules (docs/points.md, Rules): the document
    :func:`greenstream.points.rules.parse_rules` reads, with every field typed."""

    model_config = ConfigDict(extra="forbid")

    points_per_kg_co2e: Annotated[str, Field(pattern=POINTS_PER_KG_PATTERN)] = "100"
    daily_cap_points: Annotated[
        int, Field(ge=0, le=10**9, description="0: no cap"), JSON_INTEGER
    ] = 0
    expiry_days: Annotated[int, Field(ge=0, le=36_500, description="0: never"), JSON_INTEGER] = 0
    timezone: TimeZoneName = "UTC"
    cofund_points_per_fen: Annotated[
        int, Field(ge=0, le=10_000, description="points per fen"), JSON_INTEGER
    ] = 1
    actions: list[ActionId] = Field(
        default_factory=list, max_length=100, description="enabled actions (empty: all)"
    )
    campaigns: list[CampaignIn] = Field(default_factory=list, max_length=1000)
    cofunding: list[CofundingIn] = Field(default_factory=list, max_length=1000)
    rewards: list[RewardIn] = Field(default_factory=list, max_length=1000)
    parameters: list[ParameterOverride] = Field(default_factory=list, max_length=100)
