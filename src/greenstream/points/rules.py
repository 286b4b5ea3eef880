"""Earning and redemption rules of one tenant, from a TOML or JSON file or through the API.

Numbers that are money or points are integers (points, fen = 0.01 yuan) or decimal strings
(rates, multipliers): never floats. A rules document looks like (TOML)::

    points_per_kg_co2e = "100"      # points per kg CO2e avoided (decimal, <= 4 places)
    daily_cap_points = 500          # per user per local day, CO2e points only (0 = no cap)
    expiry_days = 365               # points expire this many days after they were posted (0 = never)
    timezone = "Asia/Shanghai"      # the day of the daily cap
    cofund_points_per_fen = 1       # a co-funded 0.01 yuan becomes this many points
    actions = ["reusable_box", "pickup_station"]   # enabled actions (default: all)

    [[campaigns]]
    id = "double11"
    multiplier = "2"
    starts = "2026-11-01T00:00:00+08:00"
    ends = "2026-11-12T00:00:00+08:00"     # exclusive
    actions = ["reusable_box"]             # optional filter

    [[cofunding]]
    brand = "brand-x"
    action = "reusable_box"
    subsidy_fen = 20                        # the brand pays 0.20 yuan per unit
    consumer_fen = 10                       # 0.10 to the consumer as points
    green_fund_fen = 10                     # 0.10 into the green fund

    [[rewards]]
    sku = "mangrove_1m2"
    label = "Plant 1 m2 of mangrove"
    price_points = 1000
    kind = "nature_project"                 # coupon | nature_project

    [[parameters]]                          # replace a catalogue assumption with your own data
    action = "*"                            # every action, or one action id
    parameter = "carton_mass_kg"
    value = "0.32"
    source = "our packaging specification 2026"   # or assumption = true with a reason
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from greenstream.errors import InputError, InputErrors
from greenstream.io.text import read_utf8

SCALE = 10_000  # rates and multipliers are held as integers x 10^4 (4 decimal places)
REWARD_KINDS = ("coupon", "nature_project")


@dataclass(frozen=True)
class Campaign:
    """A time-limited points multiplier (e.g. a shopping festival), optionally for some actions.

    Attributes
    ----------
    id : str
        Campaign id.
    multiplier : str
        Decimal string, at most 4 places (``"2"`` doubles the CO2e points).
    starts, ends : datetime
        The window, timezone-aware; ``ends`` is exclusive.
    actions : tuple of str
        Actions it applies to; all when empty.
    """

    id: str
    multiplier: str
    starts: datetime
    ends: datetime
    actions: tuple[str, ...] = ()

    @property
    def multiplier_e4(self) -> int:
        """The multiplier as an integer x 10^4 (``"1.5"`` -> 15000)."""
        return int(Decimal(self.multiplier) * SCALE)


@dataclass(frozen=True)
class Cofunding:
    """A brand's subsidy per unit of an action, split between consumer points and the green fund.

    Attributes
    ----------
    brand : str
        The paying brand.
    action : str
        The action it subsidises.
    subsidy_fen : int
        Paid per unit, fen (0.01 yuan); ``consumer_fen + green_fund_fen``.
    consumer_fen : int
        Part credited to the consumer as points, fen.
    green_fund_fen : int
        Part paid into the green fund, fen.
    """

    brand: str
    action: str
    subsidy_fen: int
    consumer_fen: int
    green_fund_fen: int


@dataclass(frozen=True)
class Reward:
    """A reward users can spend points on.

    Attributes
    ----------
    sku : str
        Reward id.
    label : str
        Text shown to users.
    price_points : int
        Price, points per unit.
    kind : str
        ``coupon`` or ``nature_project``.
    """

    sku: str
    label: str
    price_points: int
    kind: str = "coupon"


@dataclass(frozen=True)
class ParameterOverride:
    """A tenant's own value for a catalogue parameter, with its source or labelled an assumption.

    Attributes
    ----------
    action : str
        One action id, or ``*`` for every action.
    parameter : str
        A numeric parameter of ``data/action_parameters.csv`` (unit as in that file).
    value : str
        Decimal string, in the parameter's unit.
    source : str
        Where the value comes from (required unless ``assumption``).
    assumption : bool
        True when the value is an assumption.
    reason : str
        Why the assumption was made.
    """

    action: str
    parameter: str
    value: str
    source: str = ""
    assumption: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Rules:
    """Earning and redemption rules of one tenant (see the module docstring for the document).

    Examples
    --------
    100 points per kg CO2e and a x2 campaign: a 0.5 kg saving earns 0.5 x 100 x 2 = 100 points.

    >>> rules = parse_rules({"points_per_kg_co2e": "100", "campaigns": [
    ...     {"id": "d11", "multiplier": "2", "starts": "2026-11-01T00:00:00+08:00",
    ...      "ends": "2026-11-12T00:00:00+08:00"}]}, known_actions={"reusable_box"})
    >>> rules.points_per_kg_e4, rules.campaigns[0].multiplier_e4
    (1000000, 20000)
    >>> 500_000 * rules.points_per_kg_e4 * rules.campaigns[0].multiplier_e4 // 10**14
    100
    """

    points_per_kg_co2e: str = "100"
    daily_cap_points: int = 0
    expiry_days: int = 0
    timezone: str = "UTC"
    cofund_points_per_fen: int = 1
    actions: tuple[str, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    cofunding: tuple[Cofunding, ...] = ()
    rewards: tuple[Reward, ...] = field(default_factory=tuple)
    parameters: tuple[ParameterOverride, ...] = ()

    @property
    def points_per_kg_e4(self) -> int:
        """Points per kg CO2e avoided, as an integer x 10^4."""
        return int(Decimal(self.points_per_kg_co2e) * SCALE)

    def reward(self, sku: str) -> Reward | None:
        """The reward ``sku``, or None.

        Parameters
        ----------
        sku : str
            Reward id.

        Returns
        -------
        Reward or None
            The reward, or None when the rules have no such reward.
        """
        return next((r for r in self.rewards if r.sku == sku), None)

    def to_json(self) -> str:
        """The rules as JSON (sorted keys; datetimes in ISO 8601), as stored.

        Returns
        -------
        str
            The JSON text.
        """

        def default(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            raise TypeError(type(value))

        return json.dumps(asdict(self), default=default, sort_keys=True)


def _decimal(
    value: Any, where: str, errors: list[InputError], file: str, *, minimum: Decimal
) -> str:
    if isinstance(value, float):
        errors.append(InputError(file, None, where, "give decimals as strings, not floats"))
        return "0"
    try:
        dec = Decimal(str(value))
    except InvalidOperation:
        errors.append(InputError(file, None, where, f"not a decimal number: {value!r}"))
        return "0"
    if not dec.is_finite() or dec < minimum:
        errors.append(InputError(file, None, where, f"must be >= {minimum}, got {value!r}"))
    elif dec * SCALE != int(dec * SCALE):
        errors.append(InputError(file, None, where, "at most 4 decimal places"))
    return str(dec)


def _int(value: Any, where: str, errors: list[InputError], file: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        errors.append(InputError(file, None, where, f"must be an integer >= {minimum}"))
        return minimum
    return value


def _time(value: Any, where: str, errors: list[InputError], file: str) -> datetime:
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        errors.append(InputError(file, None, where, f"not an ISO 8601 date-time: {value!r}"))
        return datetime.fromtimestamp(0).astimezone()
    if moment.tzinfo is None:
        errors.append(InputError(file, None, where, "needs a UTC offset (e.g. +08:00)"))
        return moment.astimezone()
    return moment


def parse_rules(
    doc: dict[str, Any],
    *,
    file: str = "<rules>",
    known_actions: set[str],
    overridable: dict[str, set[str]] | None = None,
) -> Rules:
    """Check a rules document (from TOML / JSON / the API) and return typed rules.

    Every problem is reported at once as :class:`InputErrors`.

    Parameters
    ----------
    doc : dict of str to Any
        The rules document (see the module docstring; decimals as strings).
    file : str, default "<rules>"
        Name of the source, for the errors.
    known_actions : set of str
        Action ids of the catalogue.
    overridable : dict of str to set of str, optional
        Per action (``*`` = every action), the parameters a tenant may override; overrides are
        refused when None.

    Returns
    -------
    Rules
        The typed rules.

    Raises
    ------
    InputErrors
        Every unknown key, bad value, unknown action, time zone or parameter.

    Examples
    --------
    >>> parse_rules({"points_per_kg_co2e": 1.5, "colour": "red"}, known_actions=set())
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: 2 input errors:
      <rules>, field 'colour': unknown rule
      <rules>, field 'points_per_kg_co2e': give decimals as strings, not floats
    """
    errors: list[InputError] = []
    allowed = {
        "points_per_kg_co2e", "daily_cap_points", "expiry_days", "timezone",
        "cofund_points_per_fen", "actions", "campaigns", "cofunding", "rewards", "tenant",
        "parameters",
    }  # fmt: skip
    for key in sorted(set(doc) - allowed):
        errors.append(InputError(file, None, key, "unknown rule"))
    ppk = _decimal(
        doc.get("points_per_kg_co2e", "100"), "points_per_kg_co2e", errors, file, minimum=Decimal(0)
    )
    cap = _int(doc.get("daily_cap_points", 0), "daily_cap_points", errors, file)
    expiry = _int(doc.get("expiry_days", 0), "expiry_days", errors, file)
    per_fen = _int(doc.get("cofund_points_per_fen", 1), "cofund_points_per_fen", errors, file)
    tz = str(doc.get("timezone", "UTC"))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(InputError(file, None, "timezone", f"unknown time zone {tz!r}"))
    actions = tuple(str(a) for a in doc.get("actions", []))
    for a in actions:
        if a not in known_actions:
            errors.append(InputError(file, None, "actions", f"unknown action {a!r}"))

    campaigns: list[Campaign] = []
    for i, c in enumerate(doc.get("campaigns", [])):
        w = f"campaigns[{i}]"
        cid = str(c.get("id", "")).strip()
        if not cid:
            errors.append(InputError(file, None, f"{w}.id", "required"))
        mult = _decimal(
            c.get("multiplier", "1"), f"{w}.multiplier", errors, file, minimum=Decimal(0)
        )
        starts = _time(c.get("starts"), f"{w}.starts", errors, file)
        ends = _time(c.get("ends"), f"{w}.ends", errors, file)
        if ends <= starts:
            errors.append(InputError(file, None, f"{w}.ends", "must be after starts"))
        c_actions = tuple(str(a) for a in c.get("actions", []))
        for a in c_actions:
            if a not in known_actions:
                errors.append(InputError(file, None, f"{w}.actions", f"unknown action {a!r}"))
        campaigns.append(Campaign(cid, mult, starts, ends, c_actions))
    ids = [c.id for c in campaigns]
    for cid in sorted({x for x in ids if ids.count(x) > 1}):
        errors.append(InputError(file, None, "campaigns", f"duplicate campaign id {cid!r}"))

    cofunding: list[Cofunding] = []
    for i, c in enumerate(doc.get("cofunding", [])):
        w = f"cofunding[{i}]"
        brand, action = str(c.get("brand", "")).strip(), str(c.get("action", ""))
        if not brand:
            errors.append(InputError(file, None, f"{w}.brand", "required"))
        if action not in known_actions:
            errors.append(InputError(file, None, f"{w}.action", f"unknown action {action!r}"))
        sub = _int(c.get("subsidy_fen", 0), f"{w}.subsidy_fen", errors, file)
        con = _int(c.get("consumer_fen", 0), f"{w}.consumer_fen", errors, file)
        green = _int(c.get("green_fund_fen", 0), f"{w}.green_fund_fen", errors, file)
        if con + green != sub:
            errors.append(
                InputError(
                    file,
                    None,
                    w,
                    f"consumer_fen + green_fund_fen ({con} + {green}) != subsidy_fen ({sub})",
                )
            )
        cofunding.append(Cofunding(brand, action, sub, con, green))
    pairs = [(c.brand, c.action) for c in cofunding]
    for b, a in sorted({p for p in pairs if pairs.count(p) > 1}):
        errors.append(InputError(file, None, "cofunding", f"duplicate brand/action {b}/{a}"))

    rewards: list[Reward] = []
    for i, r in enumerate(doc.get("rewards", [])):
        w = f"rewards[{i}]"
        sku = str(r.get("sku", "")).strip()
        if not sku:
            errors.append(InputError(file, None, f"{w}.sku", "required"))
        price = _int(r.get("price_points", 0), f"{w}.price_points", errors, file, minimum=1)
        kind = str(r.get("kind", "coupon"))
        if kind not in REWARD_KINDS:
            errors.append(InputError(file, None, f"{w}.kind", f"one of {', '.join(REWARD_KINDS)}"))
        rewards.append(Reward(sku, str(r.get("label", sku)), price, kind))
    skus = [r.sku for r in rewards]
    for s in sorted({x for x in skus if skus.count(x) > 1}):
        errors.append(InputError(file, None, "rewards", f"duplicate sku {s!r}"))

    parameters: list[ParameterOverride] = []
    allowed_params = overridable or {}
    for i, prm in enumerate(doc.get("parameters", [])):
        w = f"parameters[{i}]"
        action, name = str(prm.get("action", "*")), str(prm.get("parameter", ""))
        known = allowed_params.get(action, set()) | allowed_params.get("*", set())
        if action != "*" and action not in known_actions:
            errors.append(InputError(file, None, f"{w}.action", f"unknown action {action!r}"))
        elif name not in known:
            errors.append(
                InputError(
                    file,
                    None,
                    f"{w}.parameter",
                    f"{name!r} is not a numeric parameter of {action!r}",
                )
            )
        value = _decimal(prm.get("value"), f"{w}.value", errors, file, minimum=Decimal(0))
        assumption = bool(prm.get("assumption", False))
        source, reason = str(prm.get("source", "")).strip(), str(prm.get("reason", "")).strip()
        if not assumption and not source:
            errors.append(InputError(file, None, f"{w}.source", "a source, or assumption = true"))
        if assumption and not reason:
            errors.append(InputError(file, None, f"{w}.reason", "an assumption needs a reason"))
        parameters.append(ParameterOverride(action, name, value, source, assumption, reason))
    keys = [(p.action, p.parameter) for p in parameters]
    for a, n in sorted({k for k in keys if keys.count(k) > 1}):
        errors.append(InputError(file, None, "parameters", f"duplicate {a}/{n}"))

    InputErrors.raise_if_any(errors)
    return Rules(
        points_per_kg_co2e=ppk,
        daily_cap_points=cap,
        expiry_days=expiry,
        timezone=tz,
        cofund_points_per_fen=per_fen,
        actions=actions,
        campaigns=tuple(campaigns),
        cofunding=tuple(cofunding),
        rewards=tuple(rewards),
        parameters=tuple(parameters),
    )


def read_rules_document(path: Path) -> dict[str, Any]:
    """A rules document from a ``.toml`` or ``.json`` file.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    dict of str to Any
        The parsed document (checked by :func:`parse_rules`).

    Raises
    ------
    InputErrors
        If the file cannot be read or parsed, or a JSON document is not an object.
    """
    if path.suffix not in (".toml", ".json"):
        raise InputErrors.single(str(path), "rules files are .toml or .json")
    text = read_utf8(path)
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        doc = json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InputErrors.single(str(path), f"cannot read rules: {exc}") from None
    if not isinstance(doc, dict):
        raise InputErrors.single(str(path), "a rules document is a JSON object")
    return doc
