"""Region codes (GB/T 2260) used as birth places in resident ID numbers.

A short, checked list (the tests validate every code with python-stdnum for the birth years used):
Chengdu districts for locals, the rest of Sichuan and other provinces for migrants. Codes created
late carry the first birth year they may appear with; older people fall back to a long-lived code.
"""

from __future__ import annotations

import numpy as np

# code, name, first valid year
CHENGDU: tuple[tuple[int, str, int], ...] = (
    (510104, "锦江区", 1990),
    (510105, "青羊区", 1990),
    (510106, "金牛区", 1990),
    (510107, "武侯区", 1990),
    (510108, "成华区", 1990),
    (510112, "龙泉驿区", 1983),
    (510113, "青白江区", 1983),
    (510114, "新都区", 2001),
    (510115, "温江区", 2002),
    (510116, "双流区", 2015),
    (510121, "金堂县", 0),
    (510129, "大邑县", 1983),
    (510131, "蒲江县", 1983),
    (510181, "都江堰市", 1989),
    (510182, "彭州市", 1993),
    (510183, "邛崃市", 1994),
    (510184, "崇州市", 1994),
)
SICHUAN: tuple[tuple[int, str, int], ...] = (
    (510302, "自贡市自流井区", 1983),
    (510402, "攀枝花市东区", 1983),
    (510502, "泸州市江阳区", 1995),
    (510603, "德阳市旌阳区", 1996),
    (510623, "德阳市中江县", 1983),
    (510703, "绵阳市涪城区", 1992),
    (510722, "绵阳市三台县", 1985),
    (511002, "内江市市中区", 1985),
    (511102, "乐山市市中区", 1985),
    (511302, "南充市顺庆区", 1993),
    (511324, "南充市仪陇县", 1993),
    (511402, "眉山市东坡区", 2000),
    (511502, "宜宾市翠屏区", 1996),
    (511621, "广安市岳池县", 1998),
    (511702, "达州市通川区", 1999),
    (512002, "资阳市雁江区", 2000),
    (513401, "凉山州西昌市", 0),
)
ELSEWHERE: tuple[tuple[int, str, int], ...] = (
    (500101, "重庆市万州区", 1998),
    (500103, "重庆市渝中区", 1997),
    (500236, "重庆市奉节县", 1997),
    (420102, "武汉市江岸区", 1983),
    (430102, "长沙市芙蓉区", 1996),
    (410102, "郑州市中原区", 1983),
    (530102, "昆明市五华区", 1983),
    (520102, "贵阳市南明区", 1983),
    (610102, "西安市新城区", 1983),
    (110101, "北京市东城区", 0),
    (310101, "上海市黄浦区", 0),
    (440106, "广州市天河区", 1985),
    (620102, "兰州市城关区", 1983),
    (360102, "南昌市东湖区", 1983),
    (130102, "石家庄市长安区", 1983),
    (370102, "济南市历下区", 1983),
    (320102, "南京市玄武区", 1983),
    (330102, "杭州市上城区", 1983),
    (350102, "福州市鼓楼区", 1983),
    (450102, "南宁市兴宁区", 1983),
)
FALLBACK = {"chengdu": 510121, "sichuan": 513401, "elsewhere": 110101}


def birth_regions(
    rng: np.random.Generator, origin: np.ndarray, birth_year: np.ndarray
) -> np.ndarray:
    """Region code per person; ``origin`` is 0 Chengdu, 1 rest of Sichuan, 2 elsewhere."""
    out = np.empty(origin.size, dtype=np.int64)
    for o, (table, key) in enumerate(
        ((CHENGDU, "chengdu"), (SICHUAN, "sichuan"), (ELSEWHERE, "elsewhere"))
    ):
        mask = origin == o
        codes = np.array([c for c, _, _ in table])
        first = np.array([y for _, _, y in table])
        pick = rng.integers(0, codes.size, int(mask.sum()))
        ok = birth_year[mask] >= first[pick]
        out[mask] = np.where(ok, codes[pick], FALLBACK[key])
    return out
