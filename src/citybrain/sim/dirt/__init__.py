"""Realistic dirt for the synthetic city's department data, vectorised and deterministic.

Every column-level function has the shape ``f(values, rng, rate, ...) -> Dirtied``: each non-null
row is picked with probability `rate` (the generator always draws one number per row, so a stream
stays aligned whatever the data), and `Dirtied.touched` marks the rows whose value really changed;
the truth records exactly those. String rewrites run once per *distinct* (value, variant) pair and
are taken back onto the rows; the variant is one of a few small integers drawn per row, so the work
grows with the number of distinct values, not rows. ID-number, USCC and phone dirt work on NumPy
byte matrices with no Python per value at all. Table-level functions (duplicates, late and shuffled
rows, schema drift) return the new table with the source row of every output row.

One module per kind of dirt: ``core`` (plumbing), ``numerals``, ``address_forms``, ``typos``,
``codes``, ``missing`` and ``tables``; everything public is re-exported here.

Address functions expect the generator's canonical form, e.g.
``四川省成都市高新区中和街道天府大道1700号锦城花园3栋2单元1203室`` (room = floor × 100 + number).
"""

from __future__ import annotations

from citybrain.sim.dirt.address_forms import (
    address_shorthand,
    drop_admin_levels,
    noise_words,
    old_road_names,
)
from citybrain.sim.dirt.codes import (
    masked_ids,
    phone_formats,
    phone_typos,
    stale_phones,
    wrong_check_digit,
)
from citybrain.sim.dirt.core import (
    Dirtied,
    DirtiedTable,
    Mask,
    Rows,
    map_distinct,
    pick_rows,
    stable_hash,
)
from citybrain.sim.dirt.missing import nulls
from citybrain.sim.dirt.numerals import (
    chinese_numerals,
    full_width,
    to_chinese_digits,
    to_chinese_number,
)
from citybrain.sim.dirt.tables import (
    LateSplit,
    SchemaChange,
    apply_to_column,
    drift_schema,
    duplicate_rows,
    shuffle_rows,
    split_late,
)
from citybrain.sim.dirt.typos import (
    ADDRESS_CONFUSABLE_GROUPS,
    ADDRESS_MARKERS,
    ADDRESS_POOL,
    COMPOUND_SURNAMES,
    CONFUSABLE_GROUPS,
    NAME_POOL,
    address_typos,
    name_typos,
    swap_given_name,
)

__all__ = [
    "ADDRESS_CONFUSABLE_GROUPS",
    "ADDRESS_MARKERS",
    "ADDRESS_POOL",
    "COMPOUND_SURNAMES",
    "CONFUSABLE_GROUPS",
    "NAME_POOL",
    "Dirtied",
    "DirtiedTable",
    "LateSplit",
    "Mask",
    "Rows",
    "SchemaChange",
    "address_shorthand",
    "address_typos",
    "apply_to_column",
    "chinese_numerals",
    "drift_schema",
    "drop_admin_levels",
    "duplicate_rows",
    "full_width",
    "map_distinct",
    "masked_ids",
    "name_typos",
    "noise_words",
    "nulls",
    "old_road_names",
    "phone_formats",
    "phone_typos",
    "pick_rows",
    "shuffle_rows",
    "split_late",
    "stable_hash",
    "stale_phones",
    "swap_given_name",
    "to_chinese_digits",
    "to_chinese_number",
    "wrong_check_digit",
]
