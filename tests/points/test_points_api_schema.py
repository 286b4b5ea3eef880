"""The request types of the points API agree with the catalogue files they restate: the action
ids of ``actions.csv``, the overridable (numeric) parameters of ``action_parameters.csv`` with
the actions that may override them and a value range of their unit; and the patterns keep a
blank id out whichever regular-expression dialect reads them."""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest

from greenstream.api.points_schemas import (
    OVERRIDES,
    ActionId,
    ActionOrAll,
    EventIn,
    RulesIn,
)
from greenstream.points.catalogue import builtin_catalogue, load_parameters, numeric_parameters

# the value pattern each unit of action_parameters.csv takes
UNIT_OF_PATTERN = {"kg": "MASS_KG", "km": "DISTANCE_KM", "uses": "USES", "share": "SHARE"}


def _literals(model: type[Any], field: str) -> set[str]:
    return set(get_args(model.model_fields[field].annotation))


def test_action_ids_are_the_catalogue() -> None:
    assert set(get_args(ActionId)) == set(builtin_catalogue().actions)
    assert set(get_args(ActionOrAll)) == {"*", *builtin_catalogue().actions}


def test_overrides_are_the_numeric_parameters_with_their_unit() -> None:
    import greenstream.api.points_schemas as schemas

    table = load_parameters()
    allowed: set[tuple[str, str]] = set()
    for model in OVERRIDES:
        actions = _literals(model, "action")
        for name in _literals(model, "parameter"):
            owner = "*" if name in table["*"] else next(a for a in table if name in table[a])
            unit = table[owner][name].unit
            pattern = getattr(schemas, f"{UNIT_OF_PATTERN[unit]}_PATTERN")
            assert model.model_fields["value"].metadata[0].pattern == pattern, (name, unit)
            allowed |= {(a, name) for a in actions}
    # the pairs parse_rules accepts: a shared parameter for '*' or any action, an action's own
    # parameter for that action
    numeric = numeric_parameters()
    expected = {(a, n) for a in ["*", *builtin_catalogue().actions] for n in numeric["*"]}
    expected |= {(a, n) for a, names in numeric.items() if a != "*" for n in names}
    assert allowed == expected


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("scan-1", True),
        ("a b", True),
        (" a", False),
        ("a\u3000", False),
        ("\x85a", False),  # NEL: whitespace to Python and Rust, not to ECMA-262's \s
        ("\ufeffa", False),  # BOM: whitespace to ECMA-262's \s only
        ("a\tb", False),
    ],
)
def test_an_id_holds_no_control_character_and_no_surrounding_space(text: str, ok: bool) -> None:
    event = {"user_id": "u", "action": "pickup_station", "occurred_at": "2026-01-01T00:00:00Z"}
    try:
        EventIn(event_id=text, **event)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-11-11T10:00:00+08:00", True),
        ("1970-01-01T00:00:00.123456Z", True),
        ("2026-02-30T00:00:00Z", False),  # no such day
        ("2026-11-11T10:00:00", False),  # no offset
        ("1969-12-31T23:59:59Z", False),  # before 1970
        ("3000-01-01T00:00:00Z", False),  # after 2999
        ("2026-11-11T10:00:00+05:60", False),  # not an RFC 3339 offset
    ],
)
def test_times_are_rfc3339_with_an_offset_in_1970_to_2999(value: str, ok: bool) -> None:
    event = {"event_id": "e", "user_id": "u", "action": "pickup_station"}
    try:
        EventIn(occurred_at=value, **event)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted is ok


def test_integers_are_json_integers() -> None:
    assert RulesIn(daily_cap_points=5.0).daily_cap_points == 5  # type: ignore[arg-type]
    for bad in ("5", True, 5.5):
        with pytest.raises(ValueError, match="daily_cap_points"):
            RulesIn(daily_cap_points=bad)  # type: ignore[arg-type]


def test_decimal_patterns_by_hand() -> None:
    import greenstream.api.points_schemas as schemas

    cases = {
        "MASS_KG": (["0.30", "0.0001", "999.9999", "1"], ["0", "0.0000", "1000", "1e2", "-1"]),
        "DISTANCE_KM": (["0.5", "19999.9999", "12"], ["0.00", "20000", "012"]),
        "USES": (["1", "99999"], ["0", "1.5", "100000"]),
        "SHARE": (["0", "0.5", "1", "1.0000"], ["1.0001", "1.5", ".5"]),
        "POINTS_PER_KG": (["0", "100", "9999.9999"], ["10000", "1.23456", "+1"]),
        "MULTIPLIER": (["1", "2.5", "99.9999"], ["100", "-1"]),
    }
    for name, (good, bad) in cases.items():
        pattern = re.compile(getattr(schemas, f"{name}_PATTERN"))
        assert all(pattern.match(v) for v in good), name
        assert not any(pattern.match(v) for v in bad), name
