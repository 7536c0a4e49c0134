"""Realistic dirt for the synthetic city's department data, vectorised and deterministic.

Every column-level function has the shape ``f(values, rng, rate, ...) -> Dirtied``: each non-null
row is picked with probability `rate` (the generator always draws one number per row, so a stream
stays aligned whatever the data), and `Dirtied.touched` marks the rows whose value really changed;
the truth records exactly those. String rewrites run once per *distinct* (value, variant) pair and
are taken back onto the rows; the variant is one of a few small integers drawn per row, so the work
grows with the number of distinct values, not rows. ID-number, USCC and phone dirt work on NumPy
byte matrices with no Python per value at all. Table-level functions (duplicates, late and shuffled
rows, schema drift) return the new table with the source row of every output row.

Address functions expect the generator's canonical form, e.g.
``四川省成都市高新区中和街道天府大道1700号锦城花园3栋2单元1203室`` (room = floor × 100 + number).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Mask = npt.NDArray[np.bool_]
Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Dirtied:
    """A dirtied column and the rows it changed (a boolean mask as long as the column)."""

    values: pa.Array
    touched: Mask


@dataclass(frozen=True)
class DirtiedTable:
    """A dirtied table; `source_row[i]` is the input row that output row i came from, and
    `touched[i]` says output row i is dirt (a duplicate copy, a displaced row)."""

    table: pa.Table
    source_row: Rows
    touched: Mask


# --- plumbing ----------------------------------------------------------------------------------


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array; dictionary-encoded text is decoded (the result is plain text)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr


def pick_rows(rng: np.random.Generator, values: pa.Array, rate: float) -> Mask:
    """Rows chosen with probability `rate` among the non-null ones; always draws len(values)."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be between 0 and 1, got {rate}")
    chosen: Mask = rng.random(len(values)) < rate
    if values.null_count:
        chosen &= values.is_valid().to_numpy(zero_copy_only=False)
    return chosen


def stable_hash(text: str, variant: int) -> int:
    """A seed-free, platform-stable hash used to make per-(value, variant) choices."""
    return zlib.crc32(f"{variant}\x00{text}".encode())


def map_distinct(
    values: pa.Array | pa.ChunkedArray,
    chosen: Mask,
    variants: npt.NDArray[np.int64],
    fn: Callable[[str, int], str],
) -> Dirtied:
    """Apply `fn(value, variant)` to the chosen rows, calling it once per distinct pair.

    `variants` holds one small non-negative integer per *chosen* row (in row order).
    """
    arr = _array(values)
    if arr.null_count:  # a null has nothing to rewrite
        keep = arr.is_valid().to_numpy(zero_copy_only=False)[chosen]
        chosen, variants = chosen & arr.is_valid().to_numpy(zero_copy_only=False), variants[keep]
    rows = np.flatnonzero(chosen)
    touched = np.zeros(len(arr), dtype=np.bool_)
    if len(rows) == 0:
        return Dirtied(arr, touched)
    encoded = pc.dictionary_encode(arr.take(pa.array(rows)))
    codes = encoded.indices.to_numpy().astype(np.int64)
    words: list[str] = encoded.dictionary.to_pylist()
    width = int(variants.max()) + 1
    unique, inverse = np.unique(codes * width + variants, return_inverse=True)
    results = [fn(words[int(u) // width], int(u) % width) for u in unique]
    changed_u = np.array(
        [r != words[int(u) // width] for r, u in zip(results, unique, strict=True)]
    )
    changed = changed_u[inverse]
    new = pa.array(results, type=arr.type).take(pa.array(inverse[changed]))
    touched[rows[changed]] = True
    return Dirtied(_put(arr, rows[changed], new), touched)


def _put(arr: pa.Array, rows: Rows, new: pa.Array) -> pa.Array:
    """`arr` with `arr[rows[i]] = new[i]` (rows ascending), as one take over both arrays;
    many times faster than replace_with_mask on strings."""
    if len(rows) == 0:
        return arr
    index = np.arange(len(arr), dtype=np.int64)
    index[rows] = len(arr) + np.arange(len(rows), dtype=np.int64)
    return pa.concat_arrays([arr, new.cast(arr.type)]).take(pa.array(index))


def _map_rows(
    values: pa.Array | pa.ChunkedArray,
    rng: np.random.Generator,
    rate: float,
    kinds: int,
    fn: Callable[[str, int], str],
) -> Dirtied:
    arr = _array(values)
    chosen = pick_rows(rng, arr, rate)
    variants = rng.integers(0, kinds, size=int(chosen.sum()), dtype=np.int64)
    return map_distinct(arr, chosen, variants, fn)


# --- widths and numerals -----------------------------------------------------------------------

_FULL_ALL = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}  # ASCII ! … ~ → full-width ！ … ～
_FULL_DIGITS = {c: c + 0xFEE0 for c in range(0x30, 0x3A)}


def full_width(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Turn ASCII digits, letters and signs full-width (１２０３, Ａ座, －), as IMEs type them;
    half of the picked rows get only their digits converted."""
    return _map_rows(
        values, rng, rate, 2, lambda s, v: s.translate(_FULL_DIGITS if v else _FULL_ALL)
    )


_DIGITS = "零一二三四五六七八九"


def to_chinese_number(n: int) -> str:
    """A cardinal number 0–99999 in Chinese numerals: 12 → 十二, 20 → 二十, 105 → 一百零五."""
    if not 0 <= n < 100000:
        raise ValueError(f"to_chinese_number handles 0–99999, got {n}")
    if n == 0:
        return "零"
    if 10 <= n < 20:  # 十二, not 一十二, in everyday writing
        return "十" + (_DIGITS[n - 10] if n > 10 else "")
    out, zero = "", False
    for power, unit in ((10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, n = divmod(n, power)
        if d:
            out += ("零" if zero and out else "") + _DIGITS[d] + unit
            zero = False
        elif out:
            zero = True
    return out


def to_chinese_digits(digits: str) -> str:
    """Digit by digit, as room numbers are read: "201" → "二〇一"."""
    return "".join("〇" if c == "0" else _DIGITS[int(c)] for c in digits)


# A bare 号 is a road or door number (天府大道1700号), which people keep in digits.
_NUMBERED = re.compile(r"(\d+)(号楼|栋|幢|座|单元|楼|层|室)")


def _numerals(text: str, variant: int) -> str:
    def sub(m: re.Match[str]) -> str:
        number, unit = m.group(1), m.group(2)
        if unit == "室":
            return to_chinese_digits(number) + unit if variant != 1 else m.group(0)
        if variant == 2:  # only the room is written in Chinese
            return m.group(0)
        return to_chinese_number(int(number)) + unit

    return _NUMBERED.sub(sub, text)


def chinese_numerals(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Write address numbers in Chinese: 三栋二单元十二楼, 二〇一室; door numbers stay digits.
    Variants: everything; building/unit/floor only; the room only."""
    return _map_rows(values, rng, rate, 3, _numerals)


# --- address forms -----------------------------------------------------------------------------

_CANONICAL = re.compile(
    r"(?P<b>\d+)(?:号楼|栋|幢|座)(?P<u>\d+)单元(?:(?P<f>\d+)(?:楼|层))?(?P<r>\d{3,4})(?:室|号)?"
)


def _shorthand(text: str, variant: int) -> str:
    def sub(m: re.Match[str]) -> str:
        b, u, r = m.group("b"), m.group("u"), m.group("r")
        floor = m.group("f") or str(int(r) // 100)
        number = int(r) % 100
        forms = (
            f"{b}-{u}-{r}",
            f"{b}栋{u}-{r}",
            f"{b}幢{u}单元{floor}楼{number}号",
            f"{b}号楼{u}单元{r}",
            f"{b}栋{u}单元{r}",
        )
        return forms[variant]

    return _CANONICAL.sub(sub, text, count=1)


def address_shorthand(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Shorten 3栋2单元1203室 to 3-2-1203, 3栋2-1203, 3幢2单元12楼3号, 3号楼2单元1203 or
    3栋2单元1203."""
    return _map_rows(values, rng, rate, 5, _shorthand)


def old_road_names(
    values: pa.Array | pa.ChunkedArray,
    rng: np.random.Generator,
    rate: float,
    aliases: Mapping[str, str | Sequence[str]],
) -> Dirtied:
    """Write a road by an old name from the register's alias list (current name → old name(s))."""
    olds = {k: [v] if isinstance(v, str) else list(v) for k, v in aliases.items() if v}
    if not olds:
        return Dirtied(_array(values), np.zeros(len(values), dtype=np.bool_))
    pattern = re.compile("|".join(re.escape(k) for k in sorted(olds, key=len, reverse=True)))

    def rename(text: str, variant: int) -> str:
        def sub(m: re.Match[str]) -> str:
            choices = olds[m.group(0)]
            return choices[variant % len(choices)]

        return pattern.sub(sub, text, count=1)

    return _map_rows(values, rng, rate, 4, rename)


_ADMIN = re.compile(
    r"^(?P<p>[^省市区县]{2,7}省)?(?P<c>[^省市区县]{2,7}市)?(?P<d>[^省市区县街道路]{2,8}?(?:区|县))?"
)


def _drop_levels(text: str, variant: int) -> str:
    m = _ADMIN.match(text)
    if not m or (not m.group("p") and not m.group("c")):
        return text  # without a province or city in front, a leading "…区" may be an estate
    cut = (m.end("p") if m.group("p") else 0, m.end("c") if m.group("c") else 0, m.end())[variant]
    return text[cut:] if cut else text


def drop_admin_levels(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Leave out upper admin levels: the province; province and city; or down to the district."""
    return _map_rows(values, rng, rate, 3, _drop_levels)


_BOUNDARY = set("省市区县道路街号苑园城栋幢座元楼")
_SUFFIXES = ("附近", "对面", "旁边", " 附近", "（对面）")
_INSERTS = (" ", "，", "、", "  ")


def _noise(text: str, variant: int) -> str:
    if variant < len(_SUFFIXES):
        return text + _SUFFIXES[variant]
    if variant == len(_SUFFIXES):
        return "地址：" + text
    cuts = [i + 1 for i, c in enumerate(text[:-1]) if c in _BOUNDARY]
    if not cuts:
        return text + " "
    at = cuts[stable_hash(text, variant) % len(cuts)]
    return text[:at] + _INSERTS[variant - len(_SUFFIXES) - 1] + text[at:]


def noise_words(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Add 附近 / 对面 / 旁边, a 地址： prefix, or a space, "，" or "、" between address parts."""
    return _map_rows(values, rng, rate, len(_SUFFIXES) + 1 + len(_INSERTS), _noise)


# --- names -------------------------------------------------------------------------------------


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
    return _map_rows(values, rng, rate, 4, lambda text, v: _typo_with(table, text, v))


def address_typos(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Replace one character of an estate or road name by a homophone or look-alike
    (锦城花园 → 金城花园, 益州大道 → 益洲大道); numbers and 栋/单元/室 markers are never touched."""
    table = _confusables("address")
    return _map_rows(
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
    return _map_rows(values, rng, rate, 1, _swap_given)


# --- codes on byte matrices --------------------------------------------------------------------


def _fixed_width(arr: pa.Array, rows: Rows, width: int) -> tuple[Rows, npt.NDArray[np.uint8]]:
    """The rows whose value is exactly `width` ASCII bytes, and those values as a byte matrix."""
    sub = arr.take(pa.array(rows)).cast(pa.string())
    ok = (pc.binary_length(sub).to_numpy(zero_copy_only=False) == width) & np.asarray(
        pc.is_valid(sub)
    )
    good = sub.filter(pa.array(ok))
    offsets = np.frombuffer(good.buffers()[1], dtype=np.int32)[good.offset :]
    data = np.frombuffer(good.buffers()[2], dtype=np.uint8)
    if len(good):
        data = data[offsets[0] : offsets[len(good)]]
    return rows[ok], data.reshape(len(good), width).copy()


def _from_matrix(mat: npt.NDArray[np.uint8], lengths: Rows | None = None) -> pa.Array:
    n = mat.shape[0]
    if lengths is None:
        lengths = np.full(n, mat.shape[1], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(mat.tobytes())]
    )


def _scatter(arr: pa.Array, rows: Rows, new: pa.Array) -> Dirtied:
    touched = np.zeros(len(arr), dtype=np.bool_)
    touched[rows] = True
    order = np.argsort(rows, kind="stable")
    return Dirtied(_put(arr, rows[order], new.take(pa.array(order))), touched)


_RIC_ALPHABET = "0123456789X"
_RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)


def _lookup(alphabet: str) -> npt.NDArray[np.int64]:
    table = np.full(256, -1, dtype=np.int64)
    for value, char in enumerate(alphabet):
        table[ord(char)] = value
    return table


def wrong_check_digit(
    values: pa.Array | pa.ChunkedArray,
    rng: np.random.Generator,
    rate: float,
    kind: Literal["id_number", "uscc"],
) -> Dirtied:
    """Replace the check character of ID numbers (kind "id_number", GB 11643) or USCCs (kind
    "uscc", GB 32100) by a different one, so the code is invalid; malformed values are left."""
    arr = _array(values)
    if kind == "id_number":
        alphabet, weights, width = _RIC_ALPHABET, _RIC_WEIGHTS, 18
    elif kind == "uscc":
        alphabet, weights, width = _USCC_ALPHABET, _USCC_WEIGHTS, 18
    else:
        raise ValueError(f"kind must be 'id_number' or 'uscc', got {kind!r}")
    chosen = pick_rows(rng, arr, rate)
    shift = rng.integers(1, len(alphabet), size=int(chosen.sum()))
    rows, mat = _fixed_width(arr, np.flatnonzero(chosen), width)
    shift = shift[np.isin(np.flatnonzero(chosen), rows)]
    body = _lookup(alphabet if kind == "uscc" else "0123456789")[mat[:, :17]]
    ok = (body >= 0).all(axis=1)
    rows, mat, body, shift = rows[ok], mat[ok], body[ok], shift[ok]
    total = body @ weights
    right = (12 - total % 11) % 11 if kind == "id_number" else (31 - total % 31) % 31
    letters = np.frombuffer(alphabet.encode(), dtype=np.uint8)
    mat[:, 17] = letters[(right + shift) % len(alphabet)]
    return _scatter(arr, rows, _from_matrix(mat))


def phone_typos(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Mistype 11-digit mobiles: one digit changed, two neighbours swapped, a digit dropped or
    doubled. The first three digits (the carrier prefix) are kept; other formats are left."""
    arr = _array(values)
    chosen = pick_rows(rng, arr, rate)
    m = int(chosen.sum())
    kind, pos, step = rng.integers(0, 4, m), rng.integers(3, 10, m), rng.integers(1, 10, m)
    rows, mat = _fixed_width(arr, np.flatnonzero(chosen), 11)
    keep = np.isin(np.flatnonzero(chosen), rows)
    kind, pos, step = kind[keep], pos[keep], step[keep]
    ok = ((mat >= 48) & (mat <= 57)).all(axis=1)
    rows, mat, kind, pos, step = rows[ok], mat[ok], kind[ok], pos[ok], step[ok]
    r = np.arange(len(rows))
    sub = kind == 0
    mat[r[sub], pos[sub]] = (mat[r[sub], pos[sub]] - 48 + step[sub]) % 10 + 48
    swap = (kind == 1) & (mat[r, pos] != mat[r, pos + 1])
    a, b = mat[r[swap], pos[swap]].copy(), mat[r[swap], pos[swap] + 1].copy()
    mat[r[swap], pos[swap]], mat[r[swap], pos[swap] + 1] = b, a
    counts = np.ones(mat.shape, dtype=np.int64)
    counts[r[kind == 2], pos[kind == 2]] = 0
    counts[r[kind == 3], pos[kind == 3]] = 2
    flat = np.repeat(mat.ravel(), counts.ravel())
    changed = (kind != 1) | swap
    lengths = counts.sum(axis=1)
    new = _strings(flat, lengths)
    return _scatter(arr, rows[changed], new.filter(pa.array(changed)))


def _strings(flat: npt.NDArray[np.uint8], lengths: Rows) -> pa.Array:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(flat.tobytes())]
    )


def phone_formats(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Write the same mobile differently: 138 1234 5678, 138-1234-5678, +86 13812345678, 8613…"""
    forms = (
        lambda s: f"{s[:3]} {s[3:7]} {s[7:]}",
        lambda s: f"{s[:3]}-{s[3:7]}-{s[7:]}",
        lambda s: f"+86 {s}",
        lambda s: f"86{s}",
    )

    def fmt(s: str, v: int) -> str:
        return forms[v](s) if len(s) == 11 and s.isdigit() else s

    return _map_rows(values, rng, rate, len(forms), fmt)


def nulls(
    values: pa.Array | pa.ChunkedArray,
    rng: np.random.Generator,
    rate: float,
    *,
    empty_string: bool = False,
) -> Dirtied:
    """Blank out values: null, or "" for exports that write empty strings instead of nulls."""
    arr = _array(values)
    chosen = pick_rows(rng, arr, rate)
    fill = pa.scalar("" if empty_string else None, type=arr.type)
    return Dirtied(pc.if_else(pa.array(chosen), fill, arr), chosen)


# --- table level -------------------------------------------------------------------------------


def duplicate_rows(
    table: pa.Table, rng: np.random.Generator, rate: float, *, adjacent: bool = True
) -> DirtiedTable:
    """Repeat picked rows right after the original (a double submit) or at the end (re-export)."""
    n = table.num_rows
    chosen = rng.random(n) < rate
    if adjacent:
        source = np.repeat(np.arange(n, dtype=np.int64), 1 + chosen)
        touched = np.zeros(len(source), dtype=np.bool_)
        touched[1:] = source[1:] == source[:-1]
    else:
        copies = rng.permutation(np.flatnonzero(chosen)).astype(np.int64)
        source = np.concatenate([np.arange(n, dtype=np.int64), copies])
        touched = np.arange(len(source)) >= n
    return DirtiedTable(table.take(pa.array(source)), source, touched)


def shuffle_rows(
    table: pa.Table, rng: np.random.Generator, rate: float, *, window: int = 1000
) -> DirtiedTable:
    """Move picked rows up to `window` places away, so records arrive out of order."""
    n = table.num_rows
    chosen = rng.random(n) < rate
    jump = rng.integers(-window, window + 1, size=n) * chosen
    source = np.argsort(np.arange(n) + jump + 0.5 * chosen, kind="stable").astype(np.int64)
    return DirtiedTable(table.take(pa.array(source)), source, source != np.arange(n))


@dataclass(frozen=True)
class LateSplit:
    """Rows delivered on time, and rows held back to arrive with a later delivery."""

    on_time: pa.Table
    late: pa.Table
    late_rows: Rows  # input row numbers of `late`


def split_late(table: pa.Table, rng: np.random.Generator, rate: float) -> LateSplit:
    """Hold back picked rows; the caller appends `late` to a later month's file."""
    late = rng.random(table.num_rows) < rate
    mask = pa.array(late)
    return LateSplit(
        table.filter(pc.invert(mask)), table.filter(mask), np.flatnonzero(late).astype(np.int64)
    )


@dataclass(frozen=True)
class SchemaChange:
    """A schema change between deliveries, for the truth."""

    renamed: dict[str, str] = field(default_factory=dict)
    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()


def drift_schema(
    table: pa.Table,
    *,
    rename: Mapping[str, str] | None = None,
    add: Mapping[str, pa.Array | pa.Scalar | str | int | float | None] | None = None,
    drop: Sequence[str] = (),
) -> tuple[pa.Table, SchemaChange]:
    """Rename, add (at the end) and drop columns, as a department system's upgrade does."""
    rename, add = dict(rename or {}), dict(add or {})
    for name in [*rename, *drop]:
        if name not in table.column_names:
            raise KeyError(f"drift_schema: no column {name!r} in {table.column_names}")
    out = table.drop_columns(list(drop)) if drop else table
    out = out.rename_columns([rename.get(c, c) for c in out.column_names])
    for name, value in add.items():
        col = value if isinstance(value, pa.Array) else pa.repeat(pa.scalar(value), len(out))
        out = out.append_column(name, col)
    return out, SchemaChange(rename, tuple(add), tuple(drop))


def apply_to_column(
    table: pa.Table,
    column: str,
    dirt: Callable[[pa.Array, np.random.Generator, float], Dirtied],
    rng: np.random.Generator,
    rate: float,
) -> tuple[pa.Table, Mask]:
    """Dirty one column of a table in place of the original; returns the table and the mask."""
    i = table.schema.get_field_index(column)
    if i < 0:
        raise KeyError(f"apply_to_column: no column {column!r}")
    result = dirt(table.column(i), rng, rate)
    return table.set_column(i, table.field(i), result.values), result.touched
