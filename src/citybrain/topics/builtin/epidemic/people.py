"""Who is who, and who lives where: person keys and the residents of each dwelling.

A person is keyed by their identity number (trimmed, upper case). A record without one (an arrival
or a test record whose number was left blank) is keyed through its phone: the one identity number
the population base and the other records give that phone. Failing that it keeps a key of its
own (``tel:…`` or ``rec:…``) and is never merged with anyone by guess.

Residents come from the population base: household registrations (户籍) and residence permits
(居住证) matched to a dwelling-level standard address, and — where the city has them — parcel
deliveries (快递收件) to a dwelling, which place the unregistered too (tenants of a group rental
register nowhere but receive parcels): a recipient phone seen at a dwelling in a month lives there
that month. Each is placed with its dwelling's stairwell (the address' parent unit) and floor.
Everything here is Ibis, so it runs on DuckDB and Spark alike.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def clean_id(column: ir.StringValue) -> ir.StringValue:
    """An identity number as compared: trimmed, upper case (the check letter X), empty → null."""
    text = column.strip().upper()
    return ibis.ifelse(text == "", ibis.null("string"), text)


def directory(records: list[ir.Table]) -> ir.Table:
    """phone → id_number, for phones that only one identity number ever gave."""
    pairs = ibis.union(
        *[r.select(phone=r.phone.strip(), id_number=clean_id(r.id_number)) for r in records]
    )
    pairs = pairs.filter(pairs.phone.notnull() & (pairs.phone != "") & pairs.id_number.notnull())
    by_phone = pairs.group_by("phone").aggregate(
        dir_id=pairs.id_number.min(), ids=pairs.id_number.nunique()
    )
    return by_phone.filter(by_phone.ids == 1).select("phone", "dir_id")


def keyed(records: ir.Table, book: ir.Table, key_column: str, source: str) -> ir.Table:
    """``records`` with a ``person_key``: the identity number, else the one its phone gives,
    else ``tel:<phone>``, else ``rec:<source>:<record key>``."""
    phone = records.phone.strip()
    t = records.mutate(_phone=phone, _id=clean_id(records.id_number))
    t = t.left_join(book, t._phone == book.phone).drop("phone_right")
    fallback = ibis.ifelse(
        t._phone.notnull() & (t._phone != ""),
        ibis.literal("tel:") + t._phone,
        ibis.literal(f"rec:{source}:") + t[key_column].cast("string"),
    )
    return t.mutate(person_key=ibis.coalesce(t._id, t.dir_id, fallback)).drop(
        "_phone", "_id", "dir_id"
    )


def _birth_year(id_number: ir.StringValue) -> ir.IntegerValue:
    """The birth year an 18-digit identity number states (null for anything else)."""
    year = id_number.substr(6, 4)
    ok = (id_number.length() == 18) & year.re_search(r"^(19|20)[0-9][0-9]$")
    return ibis.ifelse(ok, year.cast("int64"), ibis.null("int64"))


def resident_records(registration: ir.Table, permits: ir.Table) -> ir.Table:
    """Every resident record placed in a dwelling (not yet keyed): the record (source_system,
    record_key), id_number, phone, birth_year, since (moved in, permit issued) and until (permit
    cancelled), address_id and admin areas."""
    reg = registration.filter(registration.address_level == "dwelling")
    reg = reg.select(
        source_system=reg.source_system,
        record_key=reg.record_id.cast("string"),
        id_number=reg.id_number,
        phone=reg.phone,
        evidence=ibis.literal("registration"),
        birth_year=ibis.coalesce(
            reg.birth_date.year().cast("int64"), _birth_year(clean_id(reg.id_number))
        ),
        since=reg.moved_in_date.cast("date"),
        until=ibis.null("date"),
        address_id=reg.address_id,
        grid_id=reg.grid_id,
        community_id=reg.community_id,
        street_id=reg.street_id,
    )
    per = permits.filter(permits.address_level == "dwelling")
    per = per.select(
        source_system=per.source_system,
        record_key=per.permit_id.cast("string"),
        id_number=per.id_number,
        phone=per.phone,
        evidence=ibis.literal("permit"),
        birth_year=_birth_year(clean_id(per.id_number)),
        since=per.issued_date.cast("date"),
        # a permit past its end date still places someone (renewals lag); a cancelled one does not
        until=per.cancelled_date.cast("date"),
        address_id=per.address_id,
        grid_id=per.grid_id,
        community_id=per.community_id,
        street_id=per.street_id,
    )
    return ibis.union(reg, per)


def delivery_records(delivery: ir.Table) -> ir.Table:
    """Parcel recipients at a dwelling as resident records (no identity number: the phone keys
    them), placed there from the first to the last day of the delivery month."""
    d = delivery.filter(
        (delivery.address_level == "dwelling")
        & delivery.recipient_phone.notnull()
        & (delivery.recipient_phone.strip() != "")
        & delivery.period.re_search(r"^[0-9]{4}-[0-9]{2}$")
    )
    start = (d.period + "-01").as_date("%Y-%m-%d")
    return d.select(
        source_system=d.source_system,
        record_key=d.stat_id.cast("string"),
        id_number=ibis.null("string"),
        phone=d.recipient_phone,
        evidence=ibis.literal("delivery"),
        birth_year=ibis.null("int64"),
        since=start,
        until=(start + ibis.interval(months=1)).cast("date"),
        address_id=d.address_id,
        grid_id=d.grid_id,
        community_id=d.community_id,
        street_id=d.street_id,
    )


def placed(residents: ir.Table, addresses: ir.Table) -> ir.Table:
    """Keyed resident records with their dwelling's stairwell (``unit_id``, the address' parent),
    ``floor``, lon and lat from the standard addresses."""
    dw = addresses.filter(addresses.level == "dwelling").select(
        address_id=addresses.address_id,
        unit_id=addresses.parent_id,
        floor=addresses.floor_no.cast("int64"),
        lon=addresses.lon,
        lat=addresses.lat,
    )
    return residents.left_join(dw, residents.address_id == dw.address_id).drop("address_id_right")
