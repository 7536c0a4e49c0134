"""Linkage features, computed in Arrow on distinct values and joined back.

Persons: the name in pinyin (homophone typos 张伟/张纬 agree in pinyin), its surname and given
name, whether the name is only a surname with 先生/女士; a resident ID number only when its check
digit is valid, its birth date, and the raw digits for typo comparisons (a masked number gives only
the gender); a normalised mobile
number (and its raw digits, for a mobile typed one digit long or short); address components
(estate, building-unit-room) from `citybrain.address`.
Enterprises: a USCC only when valid, and the name's core (no region prefix, no legal form).

Fields of the world: names in Latin letters (accents folded, words in either order: ``name_key``
holds the name's words sorted), names given as family and given name, identifiers that are not
Chinese (``other_id_norm``: letters and digits), phones with a country code or of another region
(E.164 through ``phonenumbers``), birth dates in the common written forms, a gender column, and
addresses the Chinese parser cannot read (``addr_text``, compared as text). Every column a record
lacks is null, so the resolver can see which fields a city's data actually carries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.address import parse_many
from citybrain.core.parallel import map_chunks
from citybrain.govern.validators import (
    normalise_phone,
    validate_phone,
    validate_resident_id,
    validate_uscc,
)

_NULL = pa.scalar(None, pa.string())
MASKED_NAME = r"^.{1,2}(先生|女士|小姐|师傅|老师)$"
MASKED_ID = r"^\d{6}\*{8}\d{3}[\dX]$"
REGION_PREFIX = r"^(四川省|四川|成都市|成都|示例高新区|高新区)+"
REGION = r"(四川省|四川|成都市|成都|示例高新区|高新区)"
REGION_IN_BRACKETS = (
    rf"\({REGION}\)"  # 天辉科技（成都）有限公司, after NFKC made the brackets ASCII
)
# A legal form at the end, with a branch after it: 有限公司 / 有限公司高新分公司 / 分公司.
LEGAL_FORM = r"(股份有限公司|有限责任公司|有限公司|公司)?(.{0,6}分公司)?$"


def _clean(values: Any) -> Any:
    text = pc.utf8_normalize(pc.cast(values, pa.string()), "NFKC")
    text = pc.replace_substring_regex(text, r"[\s·•.。,，、()（）\-]", "")
    return pc.if_else(pc.equal(text, ""), _NULL, text)


def _distinct_map(values: Any, fn: Any) -> Any:
    """``fn`` applied once per distinct value, the result taken back to every row."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    mapped = pa.array(
        [fn(v) if v is not None else None for v in encoded.dictionary.to_pylist()], pa.string()
    )
    return mapped.take(encoded.indices)


#: Pinyin computed ahead for the names a staged kind holds (`pinyin_ahead`): its records are
#: chunked by address, so one name (a person's, or a common one like 张伟) is met in many chunks,
#: and pypinyin costs ~50 µs a name — at a city, more than the address parse.
_PINYIN_AHEAD: dict[str, str] = {}


def _pinyin(name: str) -> str:
    known = _PINYIN_AHEAD.get(name)
    if known is not None:
        return known
    return "".join(_romanise(name))


def _romanise(name: str) -> list[str]:
    # pypinyin is imported when a name is first met (0.4-0.6 s): a nightly run that rebuilds
    # vehicles alone, or builds its graph, does not load its dictionaries.
    from pypinyin import Style, lazy_pinyin

    return list(lazy_pinyin(name, style=Style.NORMAL, errors="default"))


def _pinyin_many(names: Sequence[str]) -> list[str]:
    return [_pinyin(name) for name in names]


#: The record columns a person's name features are made of.
NAME_COLUMNS: tuple[str, ...] = ("name", "family_name", "given_name")


@contextmanager
def pinyin_ahead(names: pa.Table, *, workers: int = 1) -> Iterator[int]:
    """Within the block, `person_features` finds the pinyin of the parts of these names
    (`NAME_COLUMNS`, e.g. a kind's distinct ones) computed once, on ``workers`` processes;
    yields how many strings. The features are the same either way: a string not computed ahead
    is computed when met."""
    family, given = _given(names, "family_name"), _given(names, "given_name")
    inputs = _pinyin_inputs(_full_names(names["name"], family, given))
    strings = pc.unique(pa.concat_arrays([_plain(v) for v in inputs])).drop_null().to_pylist()
    done = map_chunks(_pinyin_many, strings, workers=workers)
    _PINYIN_AHEAD.update(zip(strings, (p for part in done for p in part), strict=True))
    try:
        yield len(strings)
    finally:
        _PINYIN_AHEAD.clear()


def name_features(names: Any, family: Any = None, given: Any = None) -> dict[str, Any]:
    """Name features; ``family`` and ``given`` (optional columns) complete or replace ``names``.

    Chinese names keep their characters and pinyin; a name with Latin letters is folded to
    lower-case words (``name_norm`` with spaces, ``name_py`` without, the last word or the family
    name as the surname). ``name_key`` is the name's words in sorted order, so ``Smith John`` and
    ``John Smith`` (or 伟 张 given as family 伟, given 张) agree on it.
    """
    names = _full_names(names, family, given)
    out = _chinese_name_features(names)
    names = _plain(names)
    parts = pc.binary_join_element_wise(
        pc.cast(names, pa.string()),
        *(pc.cast(c, pa.string()) if c is not None else pa.nulls(len(names), pa.string())
          for c in (family, given)),
        out["surname_py"], out["given_py"], "\u001f", null_handling="replace", null_replacement="",
    )  # fmt: skip
    split = _distinct_map_many(parts, _name_parts, 6)
    latin = pc.is_valid(split[0])
    keys = ("name_norm", "name_py", "surname", "surname_py", "given_py")
    for i, key in enumerate(keys):
        out[key] = pc.if_else(latin, split[i], out[key])
    out["name_key"] = split[5]
    return out


def _full_names(names: Any, family: Any, given: Any) -> Any:
    """``names``, completed from ``family`` and ``given`` where those columns are given."""
    if family is None and given is None:
        return names
    return _joined_names(_plain(names), _plain(family), _plain(given))


def _plain(values: Any) -> Any:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _joined_names(names: Any, family: Any, given: Any) -> Any:
    """The full name where only family and given name are written (Chinese: family first)."""
    f = _clean_words(family) if family is not None else pa.nulls(len(names), pa.string())
    g = _clean_words(given) if given is not None else pa.nulls(len(names), pa.string())
    latin = pc.fill_null(pc.match_substring_regex(pc.coalesce(f, g), LATIN), False)
    # Not ``null_handling="skip"``: Arrow 26 then drops the rows whose parts are all null, and a
    # source that writes family and given name on some rows only could not be linked.
    western = pc.coalesce(pc.binary_join_element_wise(g, f, " "), g, f)
    eastern = pc.coalesce(pc.binary_join_element_wise(f, g, ""), f, g)
    joined = pc.if_else(latin, western, eastern)
    joined = pc.if_else(pc.equal(joined, ""), _NULL, joined)
    if names is None:
        return joined
    return pc.coalesce(pc.if_else(pc.equal(_clean(names), ""), _NULL, names), joined)


def _clean_words(values: Any) -> Any:
    text = pc.utf8_trim_whitespace(pc.utf8_normalize(pc.cast(values, pa.string()), "NFKC"))
    return pc.if_else(pc.equal(text, ""), _NULL, text)


LATIN = r"[A-Za-z\x{00C0}-\x{024F}]"
_LATIN_RE = re.compile(r"[A-Za-z\u00C0-\u024F]")


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    folded = re.sub(r"['’`.\-]", "", folded)
    return [w for w in re.split(r"[^0-9a-z\u3400-\u9fff]+", folded) if w]


def _name_parts(joined: str) -> tuple[str | None, ...]:
    """(norm, py, surname, surname_py, given_py, key) of one name; the first five only for a
    name in Latin letters (Chinese names keep the vectorised features)."""
    name, family, given, surname_py, given_py = joined.split("\u001f")
    if not _LATIN_RE.search(name + family + given):
        key = " ".join(sorted(w for w in (surname_py, given_py) if w))
        return None, None, None, None, None, key or None
    words = _words(name)
    if not words:
        return (None,) * 6
    family_words = _words(family) if family else []
    given_words = _words(given) if given else []
    surname = "".join(family_words) if family_words else words[-1]
    rest = "".join(given_words) if family_words or given_words else "".join(words[:-1])
    key_words = family_words + given_words if family_words or given_words else words
    return (
        " ".join(words), "".join(words), surname, surname, rest or None,
        " ".join(sorted(key_words)),
    )  # fmt: skip


def _distinct_map_many(values: Any, fn: Any, width: int) -> list[Any]:
    """``fn`` (str -> tuple of ``width``) applied once per distinct value, taken back to rows."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    results = [fn(v) if v is not None else (None,) * width for v in encoded.dictionary.to_pylist()]
    return [
        pa.array([r[i] for r in results], pa.string()).take(encoded.indices) for i in range(width)
    ]


def _pinyin_inputs(names: Any) -> tuple[Any, Any, Any]:
    """(full name, surname, given name) as the Chinese name features read them: cleaned, an
    anonymous name null, a masked one (张*) without full or given name."""
    clean = _clean(names)
    masked = pc.fill_null(pc.match_substring_regex(clean, MASKED_NAME), False)
    anonymous = pc.fill_null(pc.is_in(clean, pa.array(["匿名", "无", "不详", "未知"])), False)
    clean = pc.if_else(anonymous, _NULL, clean)
    surname = pc.utf8_slice_codeunits(clean, 0, 1)
    given = pc.if_else(masked, _NULL, pc.utf8_slice_codeunits(clean, 1, 8))
    return pc.if_else(masked, _NULL, clean), surname, given


def _chinese_name_features(names: Any) -> dict[str, Any]:
    full, surname, given = _pinyin_inputs(names)
    return {
        "name_norm": full,
        "name_py": _distinct_map(full, _pinyin),
        "surname": surname,
        "surname_py": _distinct_map(surname, _pinyin),
        "given_py": _distinct_map(given, _pinyin),
    }


def id_features(ids: Any, birth_dates: Any) -> dict[str, Any]:
    raw = pc.utf8_upper(_clean(ids))
    valid = pc.is_null(validate_resident_id(raw))
    id_valid = pc.if_else(valid, raw, _NULL)
    from_id = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(id_valid, 6, 10),
        pc.utf8_slice_codeunits(id_valid, 10, 12),
        pc.utf8_slice_codeunits(id_valid, 12, 14),
        "-",
    )
    given = birth_date_feature(birth_dates)
    plausible = pc.fill_null(pc.match_substring_regex(raw, r"^\d{17}[\dX]$"), False)
    return {
        "id_valid": id_valid,
        "id_raw": pc.if_else(plausible, raw, _NULL),
        "dob": pc.coalesce(from_id, given),
    }


def birth_date_feature(birth_dates: Any) -> Any:
    """YYYY-MM-DD from ``19900102``, ``1990-1-2``, ``1990/01/02``, ``1990年1月2日``, a timestamp."""
    text = pc.utf8_normalize(pc.cast(birth_dates, pa.string()), "NFKC")
    spaced = pc.extract_regex(text, r"^\s*(?P<y>\d{4})\D{1,2}(?P<m>\d{1,2})\D{1,2}(?P<d>\d{1,2})")
    padded = pc.binary_join_element_wise(
        pc.struct_field(spaced, "y"),
        pc.utf8_lpad(pc.struct_field(spaced, "m"), 2, "0"),
        pc.utf8_lpad(pc.struct_field(spaced, "d"), 2, "0"),
        "-",
    )
    digits = pc.replace_substring_regex(text, r"\D", "")
    given = pc.if_else(
        pc.equal(pc.utf8_length(digits), 8),
        pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(digits, 0, 4),
            pc.utf8_slice_codeunits(digits, 4, 6),
            pc.utf8_slice_codeunits(digits, 6, 8),
            "-",
        ),
        _NULL,
    )
    return pc.coalesce(given, padded)


def phone_features(phones: Any, region: str = "CN") -> dict[str, Any]:
    """Chinese mobiles as 11 digits (the synthetic city's and most Chinese systems' form); a
    number with another country code, or any number where the city's region is not CN, in E.164
    through ``phonenumbers`` (``+442079460958``), its digits kept for the typo comparison."""
    out = _chinese_phone_features(phones)
    text = pc.cast(phones, pa.string())
    coded = pc.fill_null(pc.match_substring_regex(text, r"^\s*(\+|00)"), False)
    china = pc.fill_null(pc.match_substring_regex(text, r"^\s*(\+|00)\s*86"), False)
    foreign = pc.and_(coded, pc.invert(china))
    if region != "CN":
        foreign = pc.is_valid(text)
    if not pc.any(foreign).as_py():
        return out
    e164, digits = _distinct_map_many(
        pc.if_else(foreign, text, _NULL), partial(_e164, region=region), 2
    )
    out["phone_norm"] = pc.if_else(foreign, e164, out["phone_norm"])
    out["phone_raw"] = pc.if_else(foreign, digits, out["phone_raw"])
    return out


def _e164(text: str, region: str) -> tuple[str | None, str | None]:
    try:
        number = phonenumbers.parse(re.sub(r"^\s*00", "+", text), region)
    except phonenumbers.NumberParseException:
        return None, None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = formatted.lstrip("+") if len(formatted) > 6 else None
    return (formatted if phonenumbers.is_valid_number(number) else None), digits


def _chinese_phone_features(phones: Any) -> dict[str, Any]:
    normal = normalise_phone(pc.cast(phones, pa.string()))
    normal = pc.replace_substring_regex(normal, r"^\+?86(1\d{10})$", r"\1")
    ok = pc.is_null(validate_phone(normal))
    mobile = pc.fill_null(pc.match_substring_regex(normal, r"^1[3-9]\d{9}$"), False)
    # A mobile with a digit too many or too few is no identifier, but still a typo to compare.
    digits = pc.replace_substring_regex(normal, r"\D", "")
    near = pc.fill_null(pc.match_substring_regex(digits, r"^1\d{9,11}$"), False)
    return {
        "phone_norm": pc.if_else(pc.and_(ok, mobile), normal, _NULL),
        "phone_raw": pc.if_else(near, digits, _NULL),
    }


def address_features(addresses: Any) -> dict[str, Any]:
    """Estate (or road and number) and building-unit-room of each address.

    Systems write one dwelling as ``天府六街32号1栋1单元101`` or ``滨江锦苑1栋1单元101``; addresses
    that carry both the road number and the estate teach which estate a road number is, so both
    spellings get the same place (`_learned_lookup`: learned from all the addresses given).
    """
    parts = address_parts(addresses)
    place = place_of(parts, pc.take(*_learned_lookup(parts["road_key"], parts["estate"])))
    return {"addr_place": place, "addr_room": parts["room"], "addr_text": text_of(parts, place)}


#: What `address_parts` gives for each address, besides the room.
ADDRESS_PARTS: tuple[str, ...] = ("estate", "road_key", "road", "room", "text", "chinese")


def address_parts(addresses: Any) -> dict[str, Any]:
    """What each address says on its own: estate, road key (road#number), road, room, and its
    text (lower case, no punctuation; null when empty) with whether it has Chinese in it.
    Only the estate learned from other addresses (`address_features`) needs all of them."""
    parsed = parse_many(pc.cast(addresses, pa.string()))
    room = pc.binary_join_element_wise(
        parsed["building"], parsed["unit"], pc.coalesce(parsed["room"], parsed["floor"]), "-"
    )
    road = pc.replace_substring_regex(parsed["road"], r"^.*?(区|街道|镇|乡)", "")
    road_key = pc.binary_join_element_wise(road, parsed["road_number"], "#")
    # What the Chinese parser cannot read (no place found, or no Chinese in it at all) is
    # compared as text: lower case, no spaces or punctuation.
    text = pc.utf8_lower(_clean(addresses))
    text = pc.replace_substring_regex(text, r"[,;:#'\"/]", "")
    chinese = pc.fill_null(pc.match_substring_regex(text, r"[\x{3400}-\x{9fff}]"), False)
    return {
        "estate": parsed["estate"],
        "road_key": road_key,
        "road": parsed["road"],
        "room": room,
        "text": pc.if_else(pc.equal(text, ""), _NULL, text),
        "chinese": chinese,
    }


def _learned_lookup(road_key: Any, estate: Any) -> tuple[Any, Any]:
    """(estates, index per address) of the estate most addresses with the same road key name
    (ties: the least name); the index is null where none does."""
    chosen = best_estates(estate_counts(road_key, estate))
    return chosen["estate"], pc.index_in(road_key, value_set=chosen["road_key"])


#: (road_key, estate, n): how many addresses name each estate at each road number.
ESTATE_COUNTS = pa.schema([("road_key", pa.string()), ("estate", pa.string()), ("n", pa.int64())])


def estate_counts(road_key: Any, estate: Any) -> pa.Table:
    """`ESTATE_COUNTS` of addresses' parsed road keys and estates (both given)."""
    both = pc.and_(pc.is_valid(road_key), pc.is_valid(estate))
    pairs = pa.table({"road_key": road_key, "estate": estate}).filter(both)
    counted = pairs.group_by(["road_key", "estate"], use_threads=False).aggregate(
        [("estate", "count")]
    )
    columns = [counted["road_key"], counted["estate"], counted["estate_count"]]
    return pa.table(columns, names=ESTATE_COUNTS.names).cast(ESTATE_COUNTS)


def best_estates(counted: pa.Table) -> pa.Table:
    """Per road key of ``counted`` (`ESTATE_COUNTS`, a pair at most once), the estate named most
    (ties: the least name)."""
    best = counted.sort_by(
        [("road_key", "ascending"), ("n", "descending"), ("estate", "ascending")]
    )
    keys = best["road_key"].combine_chunks()
    first = pc.not_equal(keys[1:], keys[:-1]) if len(keys) > 1 else pa.array([], pa.bool_())
    keep = pa.concat_arrays([pa.array([True] * min(len(keys), 1), pa.bool_()), first])
    return best.filter(keep).select(["road_key", "estate"])


def staged_address_features(addresses: Any) -> dict[str, Any]:
    """`address_features` as far as each address alone tells (no learned estate), with the
    parts the estate is learned from as ``work_addr_*`` columns, for `staging` to finish over
    all the records."""
    parts = address_parts(addresses)
    place = place_of(parts, pa.nulls(len(addresses), pa.string()))
    out = {"addr_place": place, "addr_room": parts["room"], "addr_text": text_of(parts, place)}
    out.update({f"work_addr_{k}": parts[k] for k in ADDRESS_PARTS if k != "room"})
    return out


def place_of(parts: dict[str, Any], learned: Any) -> Any:
    """The address's place: its estate, else the estate learned for its road number, else the
    road number, else the road."""
    return pc.coalesce(parts["estate"], learned, parts["road_key"], parts["road"])


def text_of(parts: dict[str, Any], place: Any) -> Any:
    """The address as text where the parser found no place or it has no Chinese; else null."""
    unread = pc.or_(pc.is_null(place), pc.invert(parts["chinese"]))
    return pc.if_else(unread, parts["text"], _NULL)


def uscc_features(codes: Any, names: Any) -> dict[str, Any]:
    raw = pc.utf8_upper(_clean(codes))
    valid = pc.is_null(validate_uscc(raw))
    clean = _clean(names)
    bracketed = pc.utf8_normalize(pc.cast(names, pa.string()), "NFKC")
    core = _clean(pc.replace_substring_regex(bracketed, REGION_IN_BRACKETS, ""))
    core = pc.replace_substring_regex(core, REGION_PREFIX, "")
    core = pc.replace_substring_regex(core, LEGAL_FORM, "")
    return {
        "id_valid": pc.if_else(valid, raw, _NULL),
        "id_raw": pc.if_else(pc.equal(pc.utf8_length(raw), 18), raw, _NULL),
        "name_norm": clean,
        "name_core": pc.if_else(pc.equal(core, ""), clean, core),
        "name_py": _distinct_map(core, _pinyin),
    }


def gender_feature(names: Any, id_valid: Any, ids: Any = None, written: Any = None) -> Any:
    """M / F from a valid ID's 17th digit (or a masked one's, ``510107********1234``: a masked
    number is no key, but its last digits still tell the gender), else from a 先生 / 女士 title;
    null when unknown."""
    if ids is not None:
        raw = pc.utf8_upper(_clean(ids))
        masked = pc.fill_null(pc.match_substring_regex(raw, MASKED_ID), False)
        id_valid = pc.coalesce(id_valid, pc.if_else(masked, raw, _NULL))
    digit = pc.utf8_slice_codeunits(id_valid, 16, 17)
    odd = pc.is_in(digit, pa.array(["1", "3", "5", "7", "9"]))
    from_id = pc.if_else(pc.is_valid(digit), pc.if_else(odd, "M", "F"), _NULL)
    clean = _clean(names)
    male = pc.fill_null(pc.match_substring_regex(clean, r"(先生|师傅)$"), False)
    female = pc.fill_null(pc.match_substring_regex(clean, r"(女士|小姐)$"), False)
    from_title = pc.if_else(male, "M", pc.if_else(female, "F", _NULL))
    if written is not None:  # a gender column: after the ID number, before a title
        return pc.coalesce(from_id, gender_column(written), from_title)
    return pc.coalesce(from_id, from_title)


GENDER_WORDS: dict[str, str] = {
    "男": "M", "M": "M", "MALE": "M", "1": "M", "男性": "M",
    "女": "F", "F": "F", "FEMALE": "F", "2": "F", "女性": "F",
}  # fmt: skip


def gender_column(values: Any) -> Any:
    """M / F from a written gender (男 / 女, M / F, male / female, GB 2261 codes 1 / 2)."""
    text = pc.utf8_upper(pc.utf8_trim_whitespace(pc.cast(values, pa.string())))
    keys = pa.array(list(GENDER_WORDS))
    return pc.take(pa.array(list(GENDER_WORDS.values())), pc.index_in(text, value_set=keys))


def other_id_features(ids: Any) -> dict[str, Any]:
    """Any identifier that is not a resident ID (passport, a foreign national number): letters
    and digits in upper case; shorter than four is no identifier."""
    text = pc.utf8_upper(pc.utf8_normalize(pc.cast(ids, pa.string()), "NFKC"))
    text = pc.replace_substring_regex(text, r"[^0-9A-Z]", "")
    return {"other_id_norm": pc.if_else(pc.greater_equal(pc.utf8_length(text), 4), text, _NULL)}


def employer_feature(names: Any) -> Any:
    return pc.utf8_lower(_clean(names))


AddressFeatures = Callable[[Any], dict[str, Any]]


def features_for_kind(
    kind: str, records: pa.Table, phone_region: str = "CN", address: AddressFeatures | None = None
) -> pa.Table:
    """``records`` with the linkage features of ``kind`` (person or enterprise) appended."""
    if kind == "person":
        return person_features(records, phone_region, address)
    return enterprise_features(records, phone_region, address)


def person_features(
    records: pa.Table, phone_region: str = "CN", address: AddressFeatures | None = None
) -> pa.Table:
    """``records`` (RECORD_COLUMNS) with the person linkage features appended; ``address``
    replaces `address_features`."""
    columns: dict[str, Any] = {}
    family, given = _given(records, "family_name"), _given(records, "given_name")
    columns.update(name_features(records["name"], family, given))
    columns.update(id_features(records["id_number"], records["birth_date"]))
    columns.update(other_id_features(records["other_id"]))
    columns.update(phone_features(records["phone"], phone_region))
    columns.update((address or address_features)(records["address"]))
    columns["employer_norm"] = employer_feature(records["employer"])
    columns["gender"] = gender_feature(
        records["name"], columns["id_valid"], records["id_number"], records["written_gender"]
    )
    return _append(records, columns)


def enterprise_features(
    records: pa.Table, phone_region: str = "CN", address: AddressFeatures | None = None
) -> pa.Table:
    columns: dict[str, Any] = {}
    columns.update(uscc_features(records["id_number"], records["name"]))
    columns.update(other_id_features(records["other_id"]))
    columns.update(phone_features(records["phone"], phone_region))
    columns.update((address or address_features)(records["address"]))
    return _append(records, columns)


def _given(table: pa.Table, column: str) -> Any:
    """The column, or None when no record has a value in it."""
    values = table[column]
    return None if values.null_count == len(values) else values.combine_chunks()


def _append(table: pa.Table, columns: dict[str, Any]) -> pa.Table:
    for name, values in columns.items():
        table = table.append_column(name, pc.cast(values, pa.string()))
    return table
