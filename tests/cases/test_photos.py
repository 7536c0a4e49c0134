"""Photos from outside: real pictures only, their EXIF position read and then taken out of the
metadata without touching the picture, on real JPEG, PNG and WebP bytes made with Pillow."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from citybrain.cases.photos import GPS_IFD, PhotoRefused, check_photo, tiff_without_gps

# 30°30'36" N, 104°00'36" E; the rationals as EXIF writes them (big or little endian).
GPS = {1: "N", 2: (30.0, 30.0, 36.0), 3: "E", 4: (104.0, 0.0, 36.0), 6: 512.5}
DJI_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
           b'drone-dji:GpsLatitude="+30.51" drone-dji:GpsLongitude="+104.01"/></rdf:RDF>'
           b"</x:xmpmeta>")  # fmt: skip


def picture(fmt: str, gps: bool = True, xmp: bytes | None = None, colour: str = "red") -> bytes:
    image = Image.new("RGB", (48, 32), colour)
    exif = Image.Exif()
    exif[0x010F] = "DJI"
    exif[0x0112] = 6  # orientation: must survive
    if gps:
        exif[GPS_IFD] = GPS
    out = io.BytesIO()
    options: dict[str, object] = {"exif": exif.tobytes()}
    if xmp is not None:
        options["xmp"] = xmp
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _seconds_rational(data: bytes) -> bool:
    """Whether the 36/1 seconds of both coordinates are still in the file, in either order."""
    return any(struct.pack(f"{o}II", 36, 1) in data for o in "<>")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_the_position_is_read_then_taken_out_and_the_picture_is_untouched(fmt: str) -> None:
    data = picture(fmt, xmp=DJI_XMP if fmt != "PNG" else None)
    assert _seconds_rational(data)
    checked = check_photo(data, f"a.{fmt.lower()}")
    assert checked.gps == pytest.approx((104.01, 30.51))
    assert checked.location_removed and (checked.width, checked.height) == (48, 32)
    assert not _seconds_rational(checked.data)  # wiped, not only unlinked
    assert b"GpsLatitude" not in checked.data
    with Image.open(io.BytesIO(checked.data)) as after, Image.open(io.BytesIO(data)) as before:
        exif = after.getexif()
        assert not exif.get_ifd(GPS_IFD) and exif[0x010F] == "DJI" and exif[0x0112] == 6
        assert after.tobytes() == before.tobytes()
    assert check_photo(data, "again").data == checked.data  # the same photo: the same bytes
    kept = check_photo(data, "kept", keep_location=True)
    assert kept.data == data and not kept.location_removed and kept.gps is not None


def test_a_photo_without_a_position_is_stored_as_sent() -> None:
    data = picture("JPEG", gps=False, xmp=b"<x:xmpmeta>a title</x:xmpmeta>")
    checked = check_photo(data)
    assert checked.data == data and checked.gps is None and not checked.location_removed


def test_a_malformed_exif_block_goes_whole() -> None:
    data = picture("JPEG")
    start = data.index(b"Exif\x00\x00") + 6
    broken = data[: start + 4] + b"\xf0\xff\xff\x7f" + data[start + 8 :]  # IFD0 far past the end
    assert tiff_without_gps(broken[start:]) is None
    checked = check_photo(broken)
    assert b"Exif\x00\x00" not in checked.data and not _seconds_rational(checked.data)


def _bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (9000, 6000)).save(out, format="PNG")  # 54 Mpx in a few kB
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"GIF89a not taken", 415, "x.jpg: not a JPEG, PNG or WebP image"),
        (b"\xff\xd8\xff\xe0 a JPEG head and nothing else", 415, "x.jpg: not a readable JPEG"),
        (picture("JPEG")[:-60], 415, "x.jpg: not a readable JPEG"),  # cut short
        (picture("PNG")[:-30], 415, "x.jpg: not a readable PNG"),
        (b"", 422, "x.jpg: the file is empty"),
        (b"\xff\xd8\xff" + bytes(2000), 413, "x.jpg: 2003 bytes is over the 1024 byte limit"),
    ],
    ids=["gif", "jpeg-head", "jpeg-cut", "png-cut", "empty", "too-big"],
)
def test_what_is_not_a_real_photo_is_refused_in_one_line(
    data: bytes, status: int, words: str
) -> None:
    with pytest.raises(PhotoRefused) as refused:
        check_photo(data, "x.jpg", max_bytes=1024 if status == 413 else 10_000_000)
    assert refused.value.status == status
    assert str(refused.value).startswith(words) and "\n" not in str(refused.value)


def test_too_many_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(PhotoRefused, match=r"bomb.png: 9000×6000 pixels is over") as refused:
        check_photo(_bomb(), "bomb.png")
    assert refused.value.status == 413


def test_an_mpo_keeps_only_its_picture_so_no_further_image_keeps_a_position() -> None:
    exif = Image.Exif()
    exif[GPS_IFD] = GPS
    out = io.BytesIO()
    second = Image.new("RGB", (20, 15), "blue")
    Image.new("RGB", (40, 30), "red").save(
        out, format="MPO", save_all=True, exif=exif.tobytes(), append_images=[second]
    )
    data = out.getvalue()
    assert data.count(b"Exif\x00\x00") == 2  # each image has its own EXIF with the position
    checked = check_photo(data, "phone.jpg")
    assert checked.location_removed and not _seconds_rational(checked.data)
    with Image.open(io.BytesIO(checked.data)) as after, Image.open(io.BytesIO(data)) as before:
        assert (after.format, getattr(after, "n_frames", 1)) == ("JPEG", 1)
        assert after.tobytes() == before.tobytes()
