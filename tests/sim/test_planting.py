"""The planting knob (``Scale.planted``, ``citybrain sim --planting``) and ``--months``: a small
city that holds more of the outcomes topics are judged on, without changing any named scale."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from citybrain.cli.sim import sim_app
from citybrain.sim.people import GROUP
from citybrain.sim.scales import SCALES, resolve_scale
from citybrain.sim.world import build_world


def test_named_scales_keep_the_planted_shares() -> None:
    for scale in SCALES.values():
        assert (scale.group_rental_share, scale.distress_share, scale.commitment_share) == (
            0.06,
            0.06,
            0.3,
        )
    assert resolve_scale("tiny") is SCALES["tiny"]


def test_planting_multiplies_the_shares_up_to_their_caps() -> None:
    sc = resolve_scale("tiny", months=12, planting=4)
    assert sc.name == "tiny/12m+planted*4"
    assert sc.months == 12 and sc.dwellings == SCALES["tiny"].dwellings
    assert (sc.group_rental_share, sc.distress_share, sc.commitment_share) == pytest.approx(
        (0.24, 0.24, 1.0)
    )
    capped = SCALES["tiny"].planted(100)
    assert (capped.group_rental_share, capped.distress_share) == (0.5, 0.5)
    with pytest.raises(ValueError, match="planting must be above 0"):
        SCALES["tiny"].planted(0)
    with pytest.raises(ValueError, match="months must be at least 1"):
        SCALES["tiny"].over_months(0)


def test_a_planted_world_holds_more_group_rentals_and_distressed_firms() -> None:
    base = build_world(SCALES["tiny"], 7)
    dense = build_world(SCALES["tiny"].planted(5), 7)
    # the same map; more of the rented flats let to groups, more firms in distress
    assert base.geo.dwellings.equals(dense.geo.dwellings)
    groups = [int((w.pop.situation == GROUP).sum()) for w in (base, dense)]
    distressed = [int((w.ent.table["distress_start"].to_numpy() >= 0).sum()) for w in (base, dense)]
    assert groups[1] >= 3 * max(groups[0], 1), groups
    assert distressed[1] >= 3 * max(distressed[0], 1), distressed


def test_cli_lists_the_knobs() -> None:
    result = CliRunner().invoke(sim_app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "--planting" in result.output and "--months" in result.output
