"""Peer-relative scoring: comparable dwellings, the occupancy gap, and persistence."""

import numpy as np
import pandas as pd

from citybrain.topics.builtin.group_rental import scoring

MONTHS = 8


def _city(seed: int = 3) -> pd.DataFrame:
    """60 ordinary flats of 2–3 registered people over 8 months, in one building."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(60):
        people = 2 + d % 2
        for m in range(MONTHS):
            rows.append(
                {
                    "address_id": f"D{d:03d}",
                    "period": f"2023-{m + 1:02d}",
                    "m": m,
                    "estate_name": "滨江锦苑",
                    "building_no": "2",
                    "area_m2": 80.0,
                    "registered": float(people),
                    "water": (1.2 + 3.1 * people) * rng.lognormal(0, 0.2),
                    "electricity": (50 + 52 * people) * rng.lognormal(0, 0.2),
                    "gas": (1.5 + 3.4 * people) * rng.lognormal(0, 0.25),
                    "items": float(rng.poisson(5 * people)),
                    "phones": float(1 + rng.integers(0, people)),
                    "permit_churn": 0.0,
                    "complaints_dwelling": 0.0,
                    "complaints_unit": 0.0,
                }
            )
    return pd.DataFrame(rows)


def _crowd(frame: pd.DataFrame, dwelling: str, months: range) -> None:
    rows = (frame["address_id"] == dwelling) & frame["m"].isin(list(months))
    frame.loc[rows, ["water", "gas"]] = [33.0, 35.0]
    frame.loc[rows, ["items", "phones", "permit_churn"]] = [90.0, 9.0, 3.0]


def test_a_persistent_group_rental_is_flagged_and_a_one_month_spike_is_not() -> None:
    frame = _city()
    _crowd(frame, "D010", range(2, 7))  # five months
    _crowd(frame, "D020", range(4, 5))  # one month only
    scored = scoring.score(frame, threshold=0.5)
    flagged = frame.loc[scored["score"].to_numpy() >= 0.5]
    assert set(flagged["address_id"]) == {"D010"}
    assert sorted(flagged["m"]) == [2, 3, 4, 5, 6]
    spike = (frame["address_id"] == "D020") & (frame["m"] == 4)
    assert scored.loc[spike, "raw_score"].iloc[0] >= 0.5  # the month alone looks anomalous
    assert scored.loc[spike, "score"].iloc[0] < 0.5  # but one month is not enough


def test_persistence_raises_confidence() -> None:
    frame = _city()
    _crowd(frame, "D010", range(0, 8))
    _crowd(frame, "D011", range(3, 5))
    scored = scoring.score(frame, threshold=0.5)
    long_run = scored.loc[(frame["address_id"] == "D010") & (frame["m"] == 4), "score"]
    short_run = scored.loc[(frame["address_id"] == "D011") & (frame["m"] == 4), "score"]
    assert long_run.iloc[0] > short_run.iloc[0]
    assert scored["score"].min() >= 0.0 and scored["score"].max() < 1.0


def test_occupancy_gap_counts_unregistered_people() -> None:
    frame = _city()
    _crowd(frame, "D010", range(0, 8))
    scored = scoring.score(frame, threshold=0.5)
    gap = scored.loc[frame["address_id"] == "D010", "gap"].median()
    ordinary = scored.loc[frame["address_id"] != "D010", "gap"].abs().median()
    assert gap > 5 and ordinary < 1


def test_a_large_registered_family_is_not_a_group_rental() -> None:
    frame = _city()
    _crowd(frame, "D010", range(0, 8))
    frame.loc[frame["address_id"] == "D010", ["registered", "permit_churn", "phones"]] = [
        9.0,
        0.0,
        4.0,
    ]
    scored = scoring.score(frame, threshold=0.5)
    assert scored.loc[frame["address_id"] == "D010", "score"].max() < 0.5


def test_an_unmetered_flats_usage_reason_speaks_of_gas_not_of_a_missing_water_figure() -> None:
    from citybrain.topics import build_reasons
    from citybrain.topics.builtin.group_rental.topic import _signals

    frame = _city()
    _crowd(frame, "D010", range(0, 8))
    _crowd(frame, "D011", range(0, 8))
    frame.loc[frame["address_id"] == "D011", "water"] = np.nan  # no water meter
    scored = scoring.score(frame, threshold=0.5)
    reasons = build_reasons(_signals(frame, scored), min_contribution=0.05).to_pylist()

    def usage_reasons(dwelling: str) -> set[str]:
        rows = np.flatnonzero((frame["address_id"] == dwelling).to_numpy())
        found = {r["signal"] for i in rows for r in reasons[i]}
        return found & {"water_per_person", "gas_per_person"}

    assert usage_reasons("D010") == {"water_per_person"}
    assert usage_reasons("D011") == {"gas_per_person"}
    texts = [r["text_zh"] for i in range(len(frame)) for r in reasons[i]]
    assert texts and not any("nan" in text for text in texts)
    assert any("人均月用气" in text and "立方米" in text for text in texts)
