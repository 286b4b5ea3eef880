"""`greenstream points ...`: exit codes, formats, every bad row printed, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from greenstream.cli import app

RULES_TOML = """
points_per_kg_co2e = "100"
daily_cap_points = 500
timezone = "Asia/Shanghai"

[[cofunding]]
brand = "brand-a"
action = "reusable_box"
subsidy_fen = 20
consumer_fen = 10
green_fund_fen = 10

[[rewards]]
sku = "mangrove_1m2"
label = "Plant 1 m2 of mangrove"
price_points = 10
kind = "nature_project"
"""

EVENTS = (
    "event_id,user_id,action,occurred_at,quantity,order_id,brand\n"
    "e1,u1,original_packaging,2026-11-10T10:00:00+08:00,1,o1,\n"
    "e2,u1,reusable_box,2026-11-10T11:00:00+08:00,2,o2,brand-a\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["points", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_flow(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'p.db'}", "--tenant", "shop"]
    (tmp_path / "rules.toml").write_text(RULES_TOML, encoding="utf-8")
    (tmp_path / "events.csv").write_text(EVENTS, encoding="utf-8")
    assert run("rules", "set", str(tmp_path / "rules.toml"), *db)[0] == 0
    code, out, _ = run("batch", str(tmp_path / "events.csv"), *db, "--format", "json")
    # 32 (packaging) + 2 x (19 + 10 co-funded) = 90 points
    assert code == 0 and json.loads(out)[0]["points_awarded"] == 90
    code, out, _ = run("balance", "--user", "u1", *db, "--format", "csv")
    assert out.splitlines()[1].startswith("u1,90,")
    assert run("stock", "--sku", "mangrove_1m2", "--quantity", "5", "--key", "s", *db)[0] == 0
    code, _, err = run(
        "redeem", "--user", "u1", "--sku", "mangrove_1m2", "--quantity", "10", "--key", "r", *db
    )
    assert (code == 2 and "out of" not in err.lower()) or "points" in err
    code, out, _ = run("report", *db, "--format", "json")
    rows = json.loads(out)
    assert {r["action"]: r["subsidy_collected_fen"] for r in rows} == {
        "original_packaging": 0,
        "reusable_box": 40,
    }
    code, out, _ = run("statement", "--user", "u1", *db, "--format", "json")
    assert [e["balance_points"] for e in json.loads(out)] == [32, 90]
    # the green fund holds 2 x 10 fen: 15 can be paid out, 10 more cannot
    assert run("spend", "--project", "mangrove", "--amount-fen", "15", "--key", "g1", *db)[0] == 0
    code, _, err = run("spend", "--project", "mangrove", "--amount-fen", "10", "--key", "g2", *db)
    assert code == 2 and "5 fen < 10 fen" in err
    assert run("verify", *db)[0] == 0


def test_bad_file_prints_every_row_and_writes_nothing(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'p.db'}", "--tenant", "shop"]
    (tmp_path / "rules.toml").write_text(RULES_TOML, encoding="utf-8")
    run("rules", "set", str(tmp_path / "rules.toml"), *db)
    bad = (
        EVENTS + "e3,u2,teleport,2026-11-10T11:00:00+08:00,1,,\ne4,,pickup_station,yesterday,x,,\n"
    )
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    code, _, err = run("batch", str(tmp_path / "bad.csv"), *db, "--format", "json")
    assert code == 2
    assert "bad.csv, row 3, field 'action'" in err
    assert "row 4, field 'user_id'" in err and "row 4, field 'occurred_at'" in err
    assert "row 4, field 'quantity'" in err
    code, out, _ = run("balance", "--user", "u1", *db, "--format", "json")
    assert json.loads(out)[0]["points_balance"] == 0


def test_bad_rules_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text('points_per_kg_co2e = 1.5\nspeed = "fast"\n', encoding="utf-8")
    code, _, err = run(
        "rules",
        "set",
        str(tmp_path / "r.toml"),
        "--db",
        f"sqlite:///{tmp_path / 'p.db'}",
        "--tenant",
        "s",
    )
    assert code == 2
    assert "points_per_kg_co2e" in err and "speed" in err


def test_batch_json_of_non_objects_names_each_row(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'p.db'}", "--tenant", "shop"]
    (tmp_path / "rules.toml").write_text(RULES_TOML, encoding="utf-8")
    assert run("rules", "set", str(tmp_path / "rules.toml"), *db)[0] == 0
    events = tmp_path / "events.json"
    events.write_text('[1, {"event_id": "e1"}, "e2"]', encoding="utf-8")
    code, _, err = run("batch", str(events), *db)
    assert code == 2, err
    assert f"{events}, row 1: an event must be a JSON object" in err
    assert f"{events}, row 3: an event must be a JSON object" in err
    assert "row 2" not in err and "internal error" not in err
