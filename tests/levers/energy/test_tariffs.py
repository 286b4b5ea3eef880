"""Time-of-use tariffs: periods and prices of hand-picked hours against the notices' text."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.levers.energy.tariffs import (
    HOLIDAY_KEYS,
    builtin_tariffs,
    holiday_calendar,
    hourly_tariff,
    load_tariff_file,
    parse_interval,
    tariff_for,
)

REQUIRED = {"CN-GD", "CN-SN", "CN-SH", "CN-JS", "CN-SD", "CN-BJ", "CN-ZJ"}


def _hour(frame: pl.DataFrame, when: datetime) -> dict[str, object]:
    return frame.filter(pl.col("hour_start") == when).row(0, named=True)


def test_seven_provinces_packaged_each_with_its_notice() -> None:
    tariffs = builtin_tariffs()
    assert set(tariffs) >= REQUIRED
    for t in tariffs.values():
        assert t.notice and t.source and t.flat_price_note.startswith("assumption")


def test_guangdong_july_day_periods_and_prices() -> None:
    # 粤发改价格〔2021〕331号: peak 10-12, 14-19; valley 0-8; sharp (Jul-Sep) 11-12, 15-17 at
    # peak x 1.25; peak:flat:valley = 1.7 : 1 : 0.38; flat 0.65 (labelled assumption)
    h = hourly_tariff(tariff_for("CN-GD"), 2025)
    assert h.height == 8760
    cases = {
        3: ("valley", 0.65 * 0.38),
        9: ("flat", 0.65),
        10: ("peak", 0.65 * 1.7),
        11: ("sharp", 0.65 * 1.7 * 1.25),
        15: ("sharp", 0.65 * 1.7 * 1.25),
        18: ("peak", 0.65 * 1.7),
        20: ("flat", 0.65),
    }
    for hour, (period, price) in cases.items():
        row = _hour(h, datetime(2025, 7, 15, hour))
        assert row["period"] == period, hour
        assert row["price_cny_per_kwh"] == pytest.approx(price)
    # no sharp hours in March
    assert _hour(h, datetime(2025, 3, 14, 11))["period"] == "peak"


def test_shaanxi_midday_valley() -> None:
    # 陕发改价格〔2025〕1034号: valley 0-6 and 11-14; peak 16-23; +-70 %; sharp Jul/Aug 19-21 +90 %
    h = hourly_tariff(tariff_for("CN-SN"), 2025)
    assert _hour(h, datetime(2025, 5, 6, 12))["period"] == "valley"
    assert _hour(h, datetime(2025, 5, 6, 12))["price_cny_per_kwh"] == pytest.approx(0.65 * 0.3)
    assert _hour(h, datetime(2025, 8, 6, 20))["price_cny_per_kwh"] == pytest.approx(0.65 * 1.9)
    assert _hour(h, datetime(2025, 5, 6, 20))["period"] == "peak"


def test_zhejiang_deep_valley_on_spring_festival_only() -> None:
    h = hourly_tariff(tariff_for("CN-ZJ"), 2025)
    # 2025-01-29 is the Spring Festival (holidays package); 10-14 deep valley overrides sharp
    for hour in (10, 11, 12, 13):
        assert _hour(h, datetime(2025, 1, 29, hour))["period"] == "deep_valley"
    assert _hour(h, datetime(2025, 1, 8, 10))["period"] == "sharp"
    assert _hour(h, datetime(2025, 1, 8, 12))["period"] == "valley"


def test_shanghai_deep_valley_for_large_industry_weekends() -> None:
    t = tariff_for("CN-SH")
    big = hourly_tariff(t, 2025, user_class="large_industry")
    two_part = hourly_tariff(t, 2025)
    saturday = datetime(2025, 3, 15, 2)
    assert _hour(big, saturday)["period"] == "deep_valley"
    assert _hour(big, saturday)["price_cny_per_kwh"] == pytest.approx(0.65 * 0.2)
    assert _hour(two_part, saturday)["period"] == "valley"
    # summer peak +80 %, sharp = peak x 1.25 (沪发改价管〔2022〕50号)
    assert _hour(two_part, datetime(2025, 7, 9, 12))["price_cny_per_kwh"] == pytest.approx(
        0.65 * 1.8 * 1.25
    )


def test_holiday_calendar_keys() -> None:
    cal = holiday_calendar(2025)
    assert cal[date(2025, 1, 29)] == "spring_festival"
    assert cal[date(2025, 10, 1)] == "national_day"
    assert cal[date(2025, 2, 4)] == "spring_festival"  # substituted day off, next to the festival
    assert set(cal.values()) <= set(HOLIDAY_KEYS)


def test_interval_parsing() -> None:
    assert parse_interval("22:00-06:00") == (88, 24)
    assert parse_interval("00:00-24:00") == (0, 96)
    with pytest.raises(ValueError):
        parse_interval("10:10-11:00")


def test_bad_tariff_file_names_every_field(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "province: CN-XX\nnotice: n\nsource: s\ndefault_user_class: all\n"
        "flat_price_cny_per_kwh: 0.5\n"
        "multipliers: {all: {peak: 1.5, valley: x}}\n"
        "periods:\n  - months: [1, 2, 13]\n    peak: ['25:00-26:00']\n"
    )
    with pytest.raises(InputErrors) as exc:
        load_tariff_file(path)
    fields = {e.field for e in exc.value.errors}
    assert {
        "flat_price_cny_per_kwh",
        "multipliers.all.peak",
        "multipliers.all.valley",
        "periods[0].months",
        "periods[0].peak[0]",
        "periods",
    } <= fields
