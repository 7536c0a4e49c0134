"""Text clean-up before parsing: width, case, punctuation, noise words and numerals.

`clean` turns what people type into one spelling the parser reads:
全角 → 半角, lower → upper case, brackets unwrapped (or dropped when they only say "near …"),
punctuation and spaces removed, trailing noise (附近, 对面, 旁边, 门口 …) removed, ``#`` → 号,
Chinese numerals before a unit word (十二楼, 三栋, 二〇一室, 两单元) → Arabic, and Arabic numerals
in road names (天府3街, 人民南路4段) → Chinese, as roads are officially named.
"""

from __future__ import annotations

import re
from functools import lru_cache

from citybrain.address.numerals import NUMERAL_CHARS, to_chinese, to_int

_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_WIDTH.update({0x3000: 0x20, 0xA0: 0x20})
_WIDTH.update({cp: cp - 32 for cp in range(ord("a"), ord("z") + 1)})
_WIDTH.update({0xFF41 + i: ord("A") + i for i in range(26)})  # full-width lower → upper
_PUNCT = {
    "【": "(",
    "】": ")",
    "〔": "(",
    "〕": ")",
    "［": "(",
    "］": ")",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
    "《": "(",
    "》": ")",
    "<": "(",
    ">": ")",
    "—": "-",
    "–": "-",
    "－": "-",
    "~": "-",
    "～": "-",
    "_": "-",
    "‐": "-",
    "−": "-",
    "＃": "#",
    "№": "#",
}
_TABLE: dict[int, int | str | None] = dict(_WIDTH)
_TABLE.update({ord(k): v for k, v in _PUNCT.items()})
# Dropped outright: whitespace and separators that carry no structure.
for _ch in " \t\r\n\u3000\xa0,，、。.;；:：'\"“”‘’`·•|/\\!！?？*":
    _TABLE[ord(_ch)] = None


# `_TABLE` as a list indexed by code point, every other character mapped to itself: translate
# then finds each character by index, where the dict raised (and cleared) a KeyError for every
# character it leaves alone (~40 % faster). Characters past the list are left alone too.
_TABLE_LIST: list[int | str | None] = list(range(max(_TABLE) + 1))
for _cp, _to in _TABLE.items():
    _TABLE_LIST[_cp] = _to

# Any character `_TABLE` changes; most addresses have none, and a search is cheaper than translate.
_NEEDS_TABLE = re.compile(
    "[" + "".join(re.escape(chr(cp)) for cp in sorted(_TABLE) if cp < 0x10000) + "]"
)


def to_halfwidth(text: str) -> str:
    """Full-width ASCII (and the ideographic space) to half-width; nothing else changes."""
    return text.translate({cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20})


_NOISE_INSIDE = re.compile(
    r"附近|旁边?|对面|门口|交叉口|路口|地铁|公交|站|往|米|靠近|^近|^在|位于|斜对"
    r"|^原"  # （原人民南路12号）: the old address, not this one
)
_BRACKET = re.compile(r"\(([^()]*)\)")
_LEAD = re.compile(
    r"^(?:(?:中华人民共和国|中国)(?![人银建工农移电联石])|"
    r"(?:现|家庭|户籍|联系|通讯|详细|居住|送货|收货|住|通信)?(?:住址|地址)(?:为|是)?|"
    r"\d{6}(?=[^\d号栋幢-]))+"
)
_TRAIL = re.compile(
    r"(?:(?:[东南西北]{1,2}(?:侧|面|边)?)?(?:约?\d+米)(?:处|左右)?|附近|周边|一带|对面|斜对面|对门|旁边|旁|隔壁|"
    r"门口|门前|楼下|后面|背后|里面|内|处|交叉口|(?<=号)(?:十字)?路口|[东南西北]{1,2}(?:侧|面|边)|"
    r"[往向朝][东南西北]走?\d*米?|[东南西北]走\d*米?|商铺|门面|门市|铺面|店铺|底商|顶楼|顶层)+$"
)
# Cheap guards: the noise patterns can only match text that starts / ends with one of these.
_LEAD_FIRST = frozenset("中现家户联通详居送收住地0123456789")
# Words an address may end with (a trailing name is anything else after a room).
_MARKER_LAST = frozenset("室号房户楼层栋幢座元区期院门组村")
_TRAIL_LAST = frozenset("近边带面门旁壁口前下后内处米侧右东南西北铺市商楼层走")
_ALLEY_NOISE = re.compile(r"号大院|号院子|号院落")
# 蜀都大道少城路口: at the mouth of a crossing road — the first road is the place.
_ROAD_MOUTH = re.compile(r"(?<=[路街道段])[\u4e00-\u9fff]{1,8}?(?:路|街|大道|巷)(?:十字)?路?口$")
_BUILDING_WORDS = re.compile(
    r"(?<=[0-9A-Z一二三四五六七八九十])号?(?:办公|写字|住宅|宿舍|商务|综合|教学|科研)楼"
)
_CROSSING = re.compile(
    r"(?<=[路街道巷段])(?:与|和|跟)[\u4e00-\u9fff0-9]{1,10}?(?:路|街|大道|巷)[东西南北]?(?:段)?"
    r"(?:交汇处|交叉口|交界处|交叉路口|十字路口|路口|交口)"
)
_CN_NUMBER = re.compile(
    rf"第?(?<![{NUMERAL_CHARS}])(负)?([{NUMERAL_CHARS}]+)"
    r"(?=号楼|号院|号(?!线|桥|码头|公馆)|栋|幢|座|单元|楼|层|室|户|组|期)"
)
_ROAD_DIGITS = re.compile(r"(?<=[\u4e00-\u9fff])(\d{1,2})(?=段|街(?!道)|路|巷|环|横街|支路|纵线)")
# Phone numbers pasted with the address (mobile, or landline with its area code).
_PHONE_HINT = re.compile(r"\d{7}")
_PHONE = re.compile(
    r"(?:电话|手机|联系电话|tel|TEL)?(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)"
)
# 单元 mistyped by sound or shape after a number: 2单园, 3单院 (never a name there).
_UNIT_TYPO = re.compile(r"(?<=[0-9一二三四五六七八九十两])单[园院苑源员圆远无]")
# The other marker words mistyped by pinyin right after a number: 2动 (栋), 3撞 (幢), 5搂 (楼),
# 12好 (号), 902是 (室). Only between a number and the next number, unit word or the end.
_MARKER_TYPO = re.compile(
    r"(?<=[0-9])(?:([动洞冻])|(撞)|([搂喽])|([好毫]))(?=[0-9]|单元|$)|(?<=[0-9])([是市适])$"
)
_MARKER_FIX = ("栋", "幢", "楼", "号", "室")
# Guards: each matches wherever the pattern it guards could (a superset), and, starting with a
# character class or a literal, scans much faster than the guarded pattern's lookbehind does
# (the rarer character first: 路 and 市 appear once an address, digits ten times).
_UNIT_TYPO_HINT = re.compile(r"单[园院苑源员圆远无]")
_MARKER_TYPO_HINT = re.compile(r"[动洞冻撞搂喽好毫是市适](?<=[0-9].)")
_CN_NUMBER_HINT = re.compile(rf"[{NUMERAL_CHARS}][号栋幢座单楼层室户组期]")
_ROAD_DIGITS_HINT = re.compile(r"[段街路巷环横支纵](?<=\d.)")
_NEG_FLOOR_HINT = re.compile(r"(?:[负B\-]|地下)\d+[楼层F]")
_BUILDING_WORDS_HINT = re.compile(r"(?:办公|写字|住宅|宿舍|商务|综合|教学|科研)楼")
_ORDINAL = re.compile(r"第(?=\d)")
# Anything the last steps of `clean` (numerals to digits and back, 之, 第, basements, marker
# typos) act on: each step's own guard, in one pattern. The numerals at the end (`_CN_TAIL`)
# are looked for apart: turned into digits at the very end, they give none of these a match
# (each needs a word after the digits, or 之, 第, 地下室, B, a typo's character: none made).
# Any of the guards of #, 院, the building words, a crossing and 单元's typos, in one pattern of
# words (each starting with a character: the engine skips every other character at once).
_MIDDLE_HINT = re.compile(
    "#|院|交|路口|办公楼|写字楼|住宅楼|宿舍楼|商务楼|综合楼|教学楼|科研楼"
    "|单园|单院|单苑|单源|单员|单圆|单远|单无"
)
_TYPO_CHARS = "动洞冻撞搂喽好毫是市适"  # `_MARKER_TYPO`'s
_LATE_HINT = re.compile(
    # one character class first (the engine then skips every other character at once), then
    # which guard it starts, by looking back at it
    f"[{NUMERAL_CHARS}段街路巷环横支纵之第B地负\\-{_TYPO_CHARS}]"
    f"(?:(?<=[{NUMERAL_CHARS}])[号栋幢座单楼层室户组期]"  # _CN_NUMBER_HINT
    r"|(?<=\d[段街路巷环横支纵])"  # _ROAD_DIGITS_HINT
    r"|(?<=[之第B])"
    r"|(?<=地)下(?:室|\d+[楼层F])"  # 地下室; _NEG_FLOOR_HINT's 地下
    r"|(?<=[负\-])\d+[楼层F]"  # _NEG_FLOOR_HINT's others (its B: above)
    f"|(?<=[0-9][{_TYPO_CHARS}]))"  # _MARKER_TYPO_HINT
)
# Guangdong's 之 after a number: 12号之1 (number 12-1), 302之一 (part one of room 302), 3楼之二.
_SUB_NUMBER = re.compile(rf"(?<=[0-9楼])(号)?之([0-9]+|[{NUMERAL_CHARS}]+)")
# 一单元一零一: a number spoken after the last marker word, with no marker after it.
_CN_TAIL = re.compile(rf"(?:(?<=单元)|(?<=[栋幢座楼层]))([{NUMERAL_CHARS}]+)$")
# A name written after the flat (…101室张三, …2单元101 李四收): the address ends at the room.
_TRAILING_NAME = re.compile(
    r"((?:单元|楼|层|-)\d{1,4}(?:室|号|房|户)?|\d(?:室|房|户))"
    r"(?:收件人|收货人|联系人)?[\u4e00-\u9fff]{2,4}?(?:收|先生|女士)?$"
)
# A shop's or a firm's name after the room (…3楼301室南京某某科技有限公司, …1501室王记面馆).
_FIRM_WORDS = ("公司", "商行", "商店", "超市", "店", "馆", "厂", "工作室", "诊所", "营业部")
_FIRM_LAST = frozenset(word[-1] for word in _FIRM_WORDS)
_NAME_AFTER_ROOM = re.compile(
    r"(?<=\d[室号房户])[\u4e00-\u9fffA-Z]{2,30}?(?:" + "|".join(_FIRM_WORDS) + ")$"
)
# 收货人张三 锦江雅居…: the label and the name up to the first space or comma.
_LEADING_NAME = re.compile(r"^\s*(?:收货人|收件人|联系人|姓名)[:：]?\s*[^\s,，:：]{1,5}[\s,，]+")
# Basement floors become B1, B2 … (a minus would read as a separator in 3-2-1203).
_NEG_FLOOR = re.compile(
    r"(?:负|地下)(\d+)(?=楼|层)|(?<![A-Z0-9])-(\d+)(?=楼|层)|(?<![A-Z0-9])B(\d)(?=楼|层|F)"
)
# Separators people put between admin names (浙江省-杭州市-西湖区, 杭州市_余杭区): a dash
# between two Chinese characters is never a building or room separator (those stand between
# numbers).
_CJK_DASH = re.compile(r"(?<=[\u4e00-\u9fff])-+(?=[\u4e00-\u9fff])")
# What an export writes for an empty field (null, None, NaN, undefined), as a word of its own.
_EMPTY_WORDS = re.compile(r"(?<![A-Z])(?:NULL|NONE|NAN|UNDEFINED)(?![A-Z])")
# The statistical table's placeholders, written by exports that join its three names: 广州市市辖区
# 天河区, 湖北省省直辖县级行政区划仙桃市, 重庆市县巫山县. None is a place: dropped.
_PLACEHOLDER = re.compile(
    r"市辖区|(?:省|自治区)直辖县级行政区划|(?<=重庆市)县(?=[\u4e00-\u9fff]{2})"
)
_BASEMENT_SHOP = re.compile(r"(?<![A-Z0-9])B(\d)-(\d+)(?=号|室|$)")  # B1-12: floor B1, No. 12


@lru_cache(maxsize=4096)
def _arabic(numeral: str) -> str | None:
    try:
        return str(to_int(numeral))
    except ValueError:
        return None


def _cn_to_arabic(match: re.Match[str]) -> str:
    value = _arabic(match.group(2))
    if value is None:
        return match.group(0)
    return "负" + value if match.group(1) else value


def _marker(match: re.Match[str]) -> str:
    return next(fix for fix, got in zip(_MARKER_FIX, match.groups(), strict=True) if got)


def _sub_number(match: re.Match[str]) -> str:
    part = _arabic(match.group(2)) if not match.group(2).isdigit() else match.group(2)
    if part is None:
        return match.group(0)
    return f"-{part}号" if match.group(1) else f"之{part}"


def _road_to_chinese(match: re.Match[str]) -> str:
    return to_chinese(int(match.group(1)))


def _bracket(match: re.Match[str]) -> str:
    inner = match.group(1)
    return "" if not inner or _NOISE_INSIDE.search(inner) else inner


def _drop_trail(s: str) -> str:
    """`_TRAIL` removed, looked for in the last characters only (it tries every position).

    Noise is a run of words, each at most a few characters or any tail of 约300米: if the run began
    before the window, a match begins within a word's length of the window's start, and the
    whole text is searched instead. A number is one word however long (往北走999…): a window
    that starts inside one starts a few characters before it instead.
    """
    start = len(s) - 32
    if start > 0 and s[start].isdigit() and s[start - 1].isdigit():
        while start > 0 and s[start - 1].isdigit():
            start -= 1
        start -= 4  # the word before the number: 约, 往北走, 东南侧
    if start <= 0:
        return _TRAIL.sub("", s)
    m = _TRAIL.search(s, start)
    if m is None:
        return s
    if m.start() < start + 16:
        return _TRAIL.sub("", s)
    return s[: m.start()]


def clean(text: str) -> str:
    """One spelling of an address for the parser (see the module docstring)."""
    if text[:1] in "收联姓 ":
        text = _LEADING_NAME.sub("", text)
    s = text.translate(_TABLE_LIST) if _NEEDS_TABLE.search(text) else text
    if "N" in s:
        s = _EMPTY_WORDS.sub("", s)
    if "辖" in s or "重庆市县" in s:
        s = _PLACEHOLDER.sub("", s)
    if "-" in s:
        s = _CJK_DASH.sub("", s)
    if "(" in s or "（" in s:
        s = s.replace("（", "(").replace("）", ")")
        s = _BRACKET.sub(_bracket, s)
        s = s.replace("(", "").replace(")", "")
    if _PHONE_HINT.search(s):
        s = _PHONE.sub("", s)
    if s and s[0] in _LEAD_FIRST:
        s = _LEAD.sub("", s)
    if s and s[-1] in _TRAIL_LAST:
        s = _drop_trail(s)
    if s and "\u4e00" <= s[-1] <= "\u9fff" and s[-1] not in _MARKER_LAST:
        m = _TRAILING_NAME.search(s, max(0, len(s) - 16))  # it matches 16 characters at most
        if m is not None:
            s = s[: m.start()] + m.group(1)
    # (the last character first: one look-up where most addresses end in none of these)
    if s[-1:] in _FIRM_LAST and s.endswith(_FIRM_WORDS):  # not on …室 (only 工作室 here)
        m = _NAME_AFTER_ROOM.search(s)
        if m is not None:
            s = s[: m.start()]
    if s.endswith("口"):
        m = _ROAD_MOUTH.search(s, max(0, len(s) - 14))  # 14 at most
        if m is not None:
            s = s[: m.start()]
    if _MIDDLE_HINT.search(s) is not None:  # (one pass for the five guards below)
        if "#" in s:
            s = s.replace("#楼", "号楼").replace("#", "号")
        if "院" in s:
            s = _ALLEY_NOISE.sub("号院", s)
        if "楼" in s and _BUILDING_WORDS_HINT.search(s):
            s = _BUILDING_WORDS.sub("号楼", s)
        if "交" in s or "路口" in s:
            s = _CROSSING.sub("", s)
        if "单" in s and _UNIT_TYPO_HINT.search(s):  # before numerals: 三单苑 → 三单元 → 3单元
            s = _UNIT_TYPO.sub("单元", s)
    if _LATE_HINT.search(s) is None:
        # None of the steps below has anything to do (see `_LATE_HINT`) but the numerals at
        # the end, which make no text that any of them reads: one pass over the text, not eight.
        if s and s[-1] in NUMERAL_CHARS:
            s = _CN_TAIL.sub(lambda m: _arabic(m.group(1)) or m.group(1), s)
        return s.strip("-")
    if _CN_NUMBER_HINT.search(s):
        s = _CN_NUMBER.sub(_cn_to_arabic, s)
    if s and s[-1] in NUMERAL_CHARS:
        s = _CN_TAIL.sub(lambda m: _arabic(m.group(1)) or m.group(1), s)
    if _ROAD_DIGITS_HINT.search(s):
        s = _ROAD_DIGITS.sub(_road_to_chinese, s)
    if "之" in s:
        s = _SUB_NUMBER.sub(_sub_number, s)
    if "第" in s:
        s = _ORDINAL.sub("", s)
    if "地下室" in s:
        s = s.replace("地下室", "B1楼")  # a basement written as a place: floor -1
    if ("负" in s or "B" in s or "-" in s or "地下" in s) and _NEG_FLOOR_HINT.search(s):
        s = _NEG_FLOOR.sub(lambda m: "B" + (m.group(1) or m.group(2) or m.group(3)), s)
    if "B" in s:
        s = _BASEMENT_SHOP.sub(r"B\1楼\2号", s)
    if _MARKER_TYPO_HINT.search(s):
        s = _MARKER_TYPO.sub(_marker, s)
    return s.strip("-")
