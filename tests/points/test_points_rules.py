"""Rules documents: every problem reported at once, integers and decimal strings only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from points_helpers import RULES

from greenstream.errors import InputErrors
from greenstream.points.catalogue import builtin_catalogue
from greenstream.points.rules import parse_rules, read_rules_document

ACTIONS = set(builtin_catalogue().actions)


def test_valid_rules_round_trip_through_json() -> None:
    rules = parse_rules(RULES, known_actions=ACTIONS)
    assert rules.points_per_kg_e4 == 1_000_000
    assert rules.campaigns[0].multiplier_e4 == 20_000
    again = parse_rules(json.loads(rules.to_json()), known_actions=ACTIONS)
    assert again == rules


def test_every_bad_rule_is_reported() -> None:
    doc = {
        "points_per_kg_co2e": 1.5,  # a float: refused
        "daily_cap_points": -1,
        "timezone": "Mars/Olympus",
        "colour": "green",
        "campaigns": [{"id": "x", "multiplier": "1.23456", "starts": "2026-11-12T00:00:00+08:00",
                       "ends": "2026-11-11T00:00:00"}],
        "cofunding": [{"brand": "b", "action": "teleport", "subsidy_fen": 20, "consumer_fen": 10,
                       "green_fund_fen": 5}],
        "rewards": [{"sku": "a", "price_points": 0}, {"sku": "a", "price_points": 5, "kind": "cash"}],
    }  # fmt: skip
    with pytest.raises(InputErrors) as err:
        parse_rules(doc, file="r.toml", known_actions=ACTIONS)
    fields = [e.field for e in err.value.errors]
    for expected in [
        "points_per_kg_co2e", "daily_cap_points", "timezone", "colour",
        "campaigns[0].multiplier", "campaigns[0].ends", "cofunding[0].action", "cofunding[0]",
        "rewards[0].price_points", "rewards[1].kind", "rewards",
    ]:  # fmt: skip
        assert expected in fields, expected
    assert all(e.file == "r.toml" for e in err.value.errors)


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        'points_per_kg_co2e = "50"\ndaily_cap_points = 10\n'
        '[[rewards]]\nsku = "m"\nprice_points = 1000\nkind = "nature_project"\n',
        encoding="utf-8",
    )
    rules = parse_rules(read_rules_document(path), known_actions=ACTIONS)
    assert rules.points_per_kg_e4 == 500_000
    assert rules.reward("m") is not None
    with pytest.raises(InputErrors):
        read_rules_document(tmp_path / "rules.yaml")
