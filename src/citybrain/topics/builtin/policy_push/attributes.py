"""Per enterprise, the attributes policy rules test, at the panel's latest month.

The panel is the early-warning topic's (`enterprise_warning.features`): golden firms from the
market registry with their monthly declared revenue, insured headcount, late filings and
social-security arrears, all tied to the firm through ``base.enterprise_link``. Everything here is
NumPy over whole columns; an attribute a firm lacks is NaN and fails any condition on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from citybrain.topics.builtin.enterprise_warning.features import Panel

FloatArray = NDArray[np.float64]

#: attribute → (zh, en, unit zh, unit en, decimals) for the reasons
ATTRIBUTES: dict[str, tuple[str, str, str, str, int]] = {
    "individual": ("个体工商户", "sole proprietor", "", "", 0),
    "industry_code": ("行业代码", "industry code", "", "", 0),
    "age_months": ("成立月数", "months since founding", "个月", "months", 0),
    "insured": ("本月社保参保人数", "insured staff this month", "人", "people", 0),
    "insured_change_3m": ("近3个月参保人数变化", "change in insured staff over 3 months", "人",
                          "people", 0),
    "insured_ratio_6m": ("参保人数为6个月前的倍数", "insured staff against 6 months before", "倍",
                         "×", 2),
    "arrears_3m": ("近3个月社保欠缴月数", "months in social-security arrears of the last 3", "个月",
                   "months", 0),
    "late_filings_3m": ("近3个月逾期申报月数", "months filed late of the last 3", "个月", "months",
                        0),
    "revenue_3m": ("近3个月月均申报营业收入", "mean monthly revenue, last 3 months", "万元",
                   "万元", 1),
    "revenue_ratio_3m": ("近3个月营收为前3个月的倍数", "revenue of the last 3 months against the 3"
                         " before", "倍", "×", 2),
}  # fmt: skip


@dataclass(frozen=True)
class Attributes:
    """Per firm (panel row order): numeric attributes (NaN: unknown), industry codes, flags."""

    firms: pa.Table
    numbers: dict[str, FloatArray]
    industry: NDArray[np.str_]
    individual: NDArray[np.bool_]
    month: int  # the latest month index


def _at(matrix: FloatArray, back: int) -> FloatArray:
    n, months = matrix.shape
    if back >= months:
        return np.full(n, np.nan)
    out: FloatArray = matrix[:, months - 1 - back]
    return out


def _mean3(matrix: FloatArray, back: int) -> FloatArray:
    """Mean of the three months ending ``back`` months before the latest (NaN if one is missing)."""
    n, months = matrix.shape
    hi = months - back
    if hi - 3 < 0:
        return np.full(n, np.nan)
    out: FloatArray = matrix[:, hi - 3 : hi].mean(axis=1)
    return out


def _count3(matrix: FloatArray) -> FloatArray:
    """Months flagged of the last three (0 where nothing is recorded)."""
    out: FloatArray = (np.nan_to_num(matrix[:, -3:]) > 0).sum(axis=1).astype(np.float64)
    return out


def compute(panel: Panel) -> Attributes:
    n, months = panel.shape
    firms = panel.firms
    if months == 0:
        empty = {name: np.full(n, np.nan) for name in ATTRIBUTES}
        return Attributes(firms, empty, np.full(n, ""), np.zeros(n, bool), -1)
    revenue = panel.values["revenue"] / 10_000.0  # 元 → 万元
    insured = panel.values["insured"]
    last = int(panel.months[-1])
    founded = np.asarray(
        pc.cast(firms.column("founded"), pa.float64()).to_numpy(zero_copy_only=False),
        dtype=np.float64,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        numbers = {
            "age_months": last - founded,
            "insured": _at(insured, 0),
            "insured_change_3m": _at(insured, 0) - _at(insured, 3),
            "insured_ratio_6m": _at(insured, 0) / _at(insured, 6),
            "arrears_3m": _count3(panel.values["arrears"]),
            "late_filings_3m": _count3(panel.values["late"]),
            "revenue_3m": _mean3(revenue, 0),
            "revenue_ratio_3m": _mean3(revenue, 0) / _mean3(revenue, 3),
        }
    numbers = {k: np.where(np.isfinite(v), v, np.nan) for k, v in numbers.items()}
    uscc = pc.fill_null(firms.column("uscc"), "")
    # the USCC's second character is the kind of registrant: 2 = 个体工商户 (sole proprietor)
    individual = np.asarray(
        pc.equal(pc.utf8_slice_codeunits(uscc, 1, 2), "2").to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    industry = np.asarray(
        pc.fill_null(firms.column("industry_code"), "").to_numpy(zero_copy_only=False), dtype=str
    )
    return Attributes(firms, numbers, industry, individual, last)
