"""Chinese personal names drawn from realistic frequency lists.

Surname shares follow the published national ranking (王, 李, 张, 刘, 陈 … together about 85 %
for the top 100); given names are one or two characters from pools that differ by sex, as they
do in life.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# surname, share in percent (national ranking, rounded)
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.12),
    ("李", 7.00),
    ("张", 6.74),
    ("刘", 5.10),
    ("陈", 4.61),
    ("杨", 3.22),
    ("黄", 2.45),
    ("赵", 2.29),
    ("吴", 2.05),
    ("周", 1.93),
    ("徐", 1.57),
    ("孙", 1.54),
    ("马", 1.29),
    ("朱", 1.28),
    ("胡", 1.23),
    ("郭", 1.17),
    ("何", 1.16),
    ("林", 1.13),
    ("罗", 1.08),
    ("高", 1.06),
    ("郑", 0.85),
    ("梁", 0.84),
    ("谢", 0.77),
    ("宋", 0.69),
    ("唐", 0.68),
    ("许", 0.66),
    ("韩", 0.65),
    ("邓", 0.63),
    ("冯", 0.62),
    ("曹", 0.61),
    ("彭", 0.59),
    ("曾", 0.58),
    ("肖", 0.57),
    ("田", 0.55),
    ("董", 0.53),
    ("潘", 0.51),
    ("袁", 0.51),
    ("蔡", 0.49),
    ("蒋", 0.48),
    ("余", 0.48),
    ("于", 0.48),
    ("杜", 0.47),
    ("叶", 0.46),
    ("程", 0.45),
    ("魏", 0.44),
    ("苏", 0.43),
    ("吕", 0.43),
    ("丁", 0.42),
    ("任", 0.41),
    ("卢", 0.40),
    ("姚", 0.39),
    ("沈", 0.38),
    ("钟", 0.37),
    ("姜", 0.36),
    ("崔", 0.35),
    ("谭", 0.35),
    ("陆", 0.34),
    ("范", 0.33),
    ("汪", 0.33),
    ("廖", 0.33),
    ("石", 0.32),
    ("金", 0.31),
    ("韦", 0.30),
    ("贾", 0.30),
    ("夏", 0.29),
    ("付", 0.29),
    ("方", 0.28),
    ("邹", 0.27),
    ("熊", 0.27),
    ("白", 0.27),
    ("孟", 0.26),
    ("秦", 0.26),
    ("邱", 0.25),
    ("侯", 0.25),
    ("江", 0.25),
    ("尹", 0.24),
    ("薛", 0.24),
    ("闫", 0.23),
    ("段", 0.23),
    ("雷", 0.23),
    ("龙", 0.22),
    ("黎", 0.22),
    ("史", 0.21),
    ("陶", 0.21),
    ("贺", 0.20),
    ("毛", 0.20),
    ("郝", 0.19),
    ("顾", 0.19),
    ("龚", 0.19),
    ("邵", 0.18),
    ("万", 0.18),
    ("覃", 0.17),
    ("武", 0.17),
    ("钱", 0.17),
    ("戴", 0.17),
    ("严", 0.16),
    ("欧阳", 0.05),
    ("司马", 0.01),
    ("诸葛", 0.01),
    ("上官", 0.01),
)

_COMMON = "文明华国建平志伟勇军斌涛杰磊超鹏浩宇俊峰强刚辉林海波晨阳子轩宇航博"
_MALE = _COMMON + "坤龙飞亮成康东兴福贵德安宏春鑫嘉豪睿泽铭瑞天佑浩然一鸣家乐"
_FEMALE = _COMMON[:12] + "丽芳娟敏静秀英玲燕红霞梅琳娜婷雪莉倩颖欣怡梓涵诗雨思佳悦晓萱若汐可馨"


def _pool(chars: str) -> pa.Array:
    return pa.array(list(dict.fromkeys(chars)), type=pa.string())


_SURNAME_ARRAY = pa.array([s for s, _ in SURNAMES], type=pa.string())
_SURNAME_P = np.array([p for _, p in SURNAMES]) / sum(p for _, p in SURNAMES)
_MALE_POOL = _pool(_MALE)
_FEMALE_POOL = _pool(_FEMALE)


def surnames(rng: np.random.Generator, n: int) -> pa.StringArray:
    """Surnames by national frequency."""
    idx = rng.choice(len(SURNAMES), size=n, p=_SURNAME_P)
    return _SURNAME_ARRAY.take(pa.array(idx))


def given_names(rng: np.random.Generator, male: np.ndarray) -> pa.StringArray:
    """One- or two-character given names from sex-specific character pools (about 70 % two)."""
    n = male.size
    parts = []
    for _ in range(2):
        m = _MALE_POOL.take(pa.array(rng.integers(0, len(_MALE_POOL), n)))
        f = _FEMALE_POOL.take(pa.array(rng.integers(0, len(_FEMALE_POOL), n)))
        parts.append(pc.if_else(pa.array(male), m, f))
    two = pa.array(rng.random(n) < 0.7)
    second = pc.if_else(two, parts[1], pa.scalar("", pa.string()))
    return pc.binary_join_element_wise(parts[0], second, "")


def full_names(
    rng: np.random.Generator, male: np.ndarray, family: pa.StringArray | None = None
) -> pa.StringArray:
    """Full names; pass ``family`` to give household members the head's surname."""
    fam = family if family is not None else surnames(rng, male.size)
    return pc.binary_join_element_wise(fam, given_names(rng, male), "")
