"""Typos in names and addresses: homophones and look-alikes, swapped given names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Literal

import numpy as np
import pyarrow as pa

from citybrain.sim.dirt.core import (
    Dirtied,
    map_rows,
    stable_hash,
)

# Characters clerks and OCR confuse in names: same or near sound, or similar shape (space-separated
# groups; every member may stand for every other).
CONFUSABLE_GROUPS = (
    "王汪 张章 李理黎 刘柳 陈程 杨扬阳洋 黄皇 赵肇 周舟州 吴伍武 徐许 孙荪 马玛 朱珠 胡湖 郭国"
    " 何和 林琳霖 罗萝 梁良 宋送 郑正 谢榭 韩寒 冯凤 邓登 曹操 彭鹏朋 曾增 萧肖 田甜 董懂 潘攀"
    " 袁元源 蔡菜 蒋江姜 余于俞 杜度 叶业 程成诚 魏巍 苏素 吕侣 丁叮 沈审 任仁 姚瑶遥 卢芦庐"
    " 伟玮炜苇 芳方坊 娜那 敏民 静婧靖 丽莉俪 强蔷 磊垒 军君钧 勇永泳 艳燕雁 杰洁婕 娟鹃 涛韬"
    " 明铭鸣 超朝 秀琇 霞侠 平萍 刚钢 桂贵 英瑛莹 华桦 红宏鸿洪 玲铃苓 建健 文雯汶 斌彬 宇雨语羽"
    " 浩皓昊 凯恺 晨辰 婷亭 欣馨鑫新 思斯 梅玫 辉晖 俊骏 峰锋丰 博波 涵晗 轩萱宣 子紫梓 怡宜依"
    " 佳嘉家 云芸 飞菲斐 琪琦淇 慧惠蕙 丹单 春椿 淑姝 志智 国帼 荣蓉 亮靓 兰岚蓝"
)
# Common name characters, grouped by pinyin into further homophones at first use.
NAME_POOL = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红玲建文斌宇浩凯鹏晨婷欣思梅辉俊峰博涵"
    "轩子怡佳云飞琪慧丹春淑志国海荣亮成鑫雪琳颖倩婧萍燕彬宏瑶媛莉蕾瑞然睿泽航宁安嘉雨晓晶"
)
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "令狐",
        "澹台",
        "夏侯",
        "西门",
        "独孤",
    ]
)


# Address words people mistype: same sound or shape in estate and road names. Structural markers
# (栋 幢 单元 楼 室 号 路 街) are left out, so a typo blurs a name but never the address's shape.
ADDRESS_CONFUSABLE_GROUPS = (
    "园苑元 锦金 城成诚 府富甫 庭廷婷 院苑 桥乔 湾弯 庄装 新欣心 华化桦 天添 翠萃 景京 嘉佳家"
    " 悦越 湖胡 江姜 河禾 溪西 泉全 阳杨 光广 明名 和合 宁凝 兴星 盛胜 春纯 枫峰丰 桂贵 香湘"
    " 都督 府俯 益逸 州洲 芳方 草曹 蜀属 锦绵 龙隆 凤风 鹏朋 荣蓉 祥翔 丽俪 源园 泰太 康慷"
)
# Common characters in estate and road names, grouped by pinyin into further homophones.
ADDRESS_POOL = "天府大道益州锦城花园苑庭院小区公馆名都国际中心广场新世纪城南北东西高新科技软件园"


@cache
def _confusables(kind: Literal["name", "address"]) -> dict[str, tuple[str, ...]]:
    """Each character's look-alikes from the table, plus same-pinyin characters from the pool."""
    from pypinyin import Style, lazy_pinyin

    groups = CONFUSABLE_GROUPS if kind == "name" else ADDRESS_CONFUSABLE_GROUPS
    pool = (NAME_POOL if kind == "name" else ADDRESS_POOL) + groups.replace(" ", "")
    out: dict[str, set[str]] = {}
    for group in groups.split():
        for c in group:
            out.setdefault(c, set()).update(group)
    by_sound: dict[str, set[str]] = {}
    for c, sound in zip(pool, lazy_pinyin(pool, style=Style.NORMAL), strict=True):
        by_sound.setdefault(sound, set()).add(c)
    for same in by_sound.values():
        for c in same:
            out.setdefault(c, set()).update(same)
    return {c: tuple(sorted(s - {c})) for c, s in out.items() if s - {c}}


# Structural markers of an address (admin levels, road, number, building, unit, floor, room): the
# truth and every parser rely on them, so a typo never lands inside one — 单元's 元 sounds like
# 园 and would otherwise be "blurred" into 单园.
ADDRESS_MARKERS = re.compile(r"单元|[省市区县路街道号栋幢座楼层室]")


def _typo_with(
    table: Mapping[str, tuple[str, ...]],
    text: str,
    variant: int,
    protect: re.Pattern[str] | None = None,
) -> str:
    fixed = {i for m in protect.finditer(text) for i in range(*m.span())} if protect else set()
    spots = [i for i, c in enumerate(text) if c in table and i not in fixed]
    if not spots:
        return text
    h = stable_hash(text, variant)
    i = spots[h % len(spots)]
    choices = table[text[i]]
    return text[:i] + choices[(h >> 8) % len(choices)] + text[i + 1 :]


def name_typos(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Replace one character by a homophone or look-alike (王→汪, 伟→玮, 静→婧) as clerks do."""
    table = _confusables("name")
    return map_rows(values, rng, rate, 4, lambda text, v: _typo_with(table, text, v))


def address_typos(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Replace one character of an estate or road name by a homophone or look-alike
    (锦城花园 → 金城花园, 益州大道 → 益洲大道); numbers and 栋/单元/室 markers are never touched."""
    table = _confusables("address")
    return map_rows(
        values, rng, rate, 4, lambda text, v: _typo_with(table, text, v, ADDRESS_MARKERS)
    )


def _swap_given(name: str, _variant: int) -> str:
    surname = 2 if name[:2] in COMPOUND_SURNAMES else 1
    given = name[surname:]
    return name[:surname] + given[::-1] if len(given) == 2 else name


def swap_given_name(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Swap the two characters of a two-character given name (张伟明 → 张明伟)."""
    return map_rows(values, rng, rate, 1, _swap_given)
