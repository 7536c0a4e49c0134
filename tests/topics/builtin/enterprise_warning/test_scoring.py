"""The warning score on small hand-written panels (no lake, no engine)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from citybrain.topics.builtin.enterprise_warning import scoring
from citybrain.topics.builtin.enterprise_warning.features import MEASURES, Panel


def _panel(revenue: np.ndarray, insured: np.ndarray) -> Panel:
    n, t = revenue.shape
    values = {name: np.full((n, t), np.nan) for name in MEASURES}
    values["revenue"], values["insured"] = revenue, insured
    values["late"], values["arrears"] = np.zeros((n, t)), np.zeros((n, t))
    firms = pa.table({"uscc": [f"F{i}" for i in range(n)]})
    return Panel(firms, np.arange(t, dtype=np.int64), values)


def test_one_person_leaving_a_small_firm_does_not_corroborate_a_revenue_dip() -> None:
    """Revenue dips alike at a two-person and a forty-person firm in the last two months; the
    small firm's headcount goes 2 → 1, the large one's 40 → 28. The industry's headcount scale
    (steady peers: the 0.05 floor) would read the one person as a fall of z ≈ −10; one person's
    step at the firm's own size says it is noise. The large firm's fall still counts."""
    rng = np.random.default_rng(3)
    peers, t = 30, 16
    revenue = np.exp(rng.normal(np.log(1e5), 0.05, (peers + 2, t)))
    insured = np.full((peers + 2, t), 10.0)
    small, large = peers, peers + 1
    revenue[[small, large], -2:] *= 0.6
    insured[small], insured[small, -2:] = 2.0, 1.0
    insured[large], insured[large, -2:] = 40.0, 28.0
    a = scoring.assess(_panel(revenue, insured), np.zeros(peers + 2, np.int64))
    assert a.shifts["revenue"].z[small, -1] < -3 and a.shifts["revenue"].z[large, -1] < -3
    assert a.contributions["insured"][small, -1] == 0.0
    assert a.contributions["insured"][large, -1] > 0.5
    assert -2.0 < a.shifts["insured"].z[small, -1] < 0.0
    step = scoring.one_person_step(insured[[small, large]])
    np.testing.assert_allclose(step, np.log1p([3.0, 41.0]) - np.log1p([2.0, 40.0]))
