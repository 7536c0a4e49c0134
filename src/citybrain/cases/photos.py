"""Photos from the site (现场照片), stored by content: the file's SHA-256 is its name.

The same photo uploaded twice is stored once. Only JPEG, PNG and WebP are taken, recognised by
their first bytes (not by the name or the declared type), and at most ``MAX_BYTES``.

``check_photo`` goes further, for photos from outside (patrol, drone, residents): Pillow must
decode the whole picture (a JPEG head on anything else is refused), its pixels are bounded (a
decompression bomb is refused before it is decoded), the EXIF GPS position is read (a drone
image is placed by it) and then taken out of the bytes unless the sender allows keeping it. The
removal edits the metadata only — the EXIF GPS block is unlinked and wiped, XMP packets that
carry a GPS position are dropped — so the picture itself is never re-encoded and the same photo
always gives the same bytes (and so is stored once).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import struct
import tempfile
import threading
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from citybrain.core.errors import UserError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refused before decoding: a small file can claim a huge picture
GPS_IFD = 0x8825  # EXIF tag of the GPS block
_OPENING = threading.Lock()
FOLDER = Path("files") / "case-photos"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# media type → file suffix
_KINDS: dict[str, str] = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


class PhotoRefused(UserError):
    """A file that is not a photo we take, or too large."""

    def __init__(self, message: str, status: int, max_bytes: int = MAX_BYTES) -> None:
        megabytes = f"{max_bytes / 1024 / 1024:g}"
        super().__init__(message, hint=f"send a JPEG, PNG or WebP photo of at most {megabytes} MB")
        self.status = status


@dataclass(frozen=True)
class StoredPhoto:
    sha256: str
    media_type: str
    size: int
    path: Path


def sniff(data: bytes) -> str | None:
    """The media type of a JPEG, PNG or WebP by its first bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def store_photo(root: Path, data: bytes, name: str = "photo") -> StoredPhoto:
    """Check and store one photo under ``root`` (the workspace); the same bytes land once."""
    if len(data) > MAX_BYTES:
        raise PhotoRefused(f"{name}: {len(data)} bytes is over the {MAX_BYTES} byte limit", 413)
    if not data:
        raise PhotoRefused(f"{name}: the file is empty", 422)
    media_type = sniff(data)
    if media_type is None:
        raise PhotoRefused(f"{name}: not a JPEG, PNG or WebP image", 415)
    sha = hashlib.sha256(data).hexdigest()
    path = root / FOLDER / sha[:2] / f"{sha}{_KINDS[media_type]}"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half a photo.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).replace(path)
    return StoredPhoto(sha, media_type, len(data), path)


def find_photo(root: Path, sha: str) -> StoredPhoto | None:
    """The stored photo with this SHA-256, or None."""
    if not SHA256.match(sha):
        return None
    for media_type, suffix in _KINDS.items():
        path = root / FOLDER / sha[:2] / f"{sha}{suffix}"
        if path.is_file():
            return StoredPhoto(sha, media_type, path.stat().st_size, path)
    return None


# --- checking photos from outside ----------------------------------------------------------------


@dataclass(frozen=True)
class CheckedPhoto:
    """A photo that decoded, with the bytes to store."""

    data: bytes  # without the location unless it was kept
    media_type: str
    width: int
    height: int
    gps: tuple[float, float] | None  # (lon, lat) WGS-84 from EXIF, read before any removal
    location_removed: bool


def check_photo(
    data: bytes,
    name: str = "photo",
    *,
    keep_location: bool = False,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> CheckedPhoto:
    """Check that ``data`` is a real JPEG, PNG or WebP picture and take its location out unless
    ``keep_location``; ``PhotoRefused`` (413, 415 or 422) names ``name`` in one line otherwise."""
    if len(data) > max_bytes:
        raise PhotoRefused(f"{name}: {len(data)} bytes is over the {max_bytes} byte limit", 413,
                           max_bytes)  # fmt: skip
    if not data:
        raise PhotoRefused(f"{name}: the file is empty", 422, max_bytes)
    media_type = sniff(data)
    if media_type is None:
        raise PhotoRefused(f"{name}: not a JPEG, PNG or WebP image", 415, max_bytes)
    width, height, gps = _decode(data, name, media_type, max_pixels, max_bytes)
    if keep_location:
        return CheckedPhoto(data, media_type, width, height, gps, location_removed=False)
    cleaned = strip_location(data, media_type)
    if _has_location(cleaned, media_type):  # never store a position the sender did not allow
        raise PhotoRefused(f"{name}: its location could not be removed", 422, max_bytes)
    removed = _has_location(data, media_type) or _EXIF_HEAD in _after_jpeg_end(data)
    return CheckedPhoto(cleaned, media_type, width, height, gps, removed)


_UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error,
               IndexError, KeyError, TypeError, ZeroDivisionError)  # fmt: skip


def _quietly_open(data: bytes, kind: str) -> Image.Image:
    """Open (read the headers and metadata of) a picture; Pillow's warnings about corrupt
    metadata are no reason to refuse it. ``catch_warnings`` changes process-wide state, so
    photo checks in several threads take turns here (only the headers; decoding runs in
    parallel)."""
    with _OPENING, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = Image.open(io.BytesIO(data), formats=[kind])
        try:
            image.getexif()  # read now, while the warnings are off
        except BaseException:
            image.close()
            raise
        return image


def _decode(
    data: bytes, name: str, media_type: str, max_pixels: int, max_bytes: int
) -> tuple[int, int, tuple[float, float] | None]:
    """Decode the whole picture (a JPEG at 1/8 scale: every coded block is still read)."""
    kind = media_type.split("/")[1].upper()
    try:
        with _quietly_open(data, kind) as image:
            width, height = image.size
            if kind != "JPEG":  # decoded at full size: held to the default, whatever asked
                max_pixels = min(max_pixels, MAX_PIXELS)
            if width * height > max_pixels:
                raise PhotoRefused(f"{name}: {width}×{height} pixels is over the limit of "
                                   f"{max_pixels}", 413, max_bytes)  # fmt: skip
            gps = _gps_of(image)
            if kind == "JPEG":
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            image.load()
    except Image.DecompressionBombError:
        raise PhotoRefused(f"{name}: too many pixels", 413, max_bytes) from None
    except _UNREADABLE as exc:
        why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise PhotoRefused(f"{name}: not a readable {kind} image ({why})", 415, max_bytes) from None
    return width, height, gps


def _degrees(value: object, ref: object, negative: str) -> float | None:
    try:
        d, m, s = (float(part) for part in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    out = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -out if str(ref).strip().upper() == negative else out


def _gps_of(image: Image.Image) -> tuple[float, float] | None:
    """(lon, lat) from the EXIF GPS block, or None when absent or not a position."""
    try:
        block = image.getexif().get_ifd(GPS_IFD)
    except _UNREADABLE:
        return None
    lat = _degrees(block.get(2), block.get(1), "S")
    lon = _degrees(block.get(4), block.get(3), "W")
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lon, lat


def _has_location(data: bytes, media_type: str) -> bool:
    """EXIF GPS or GPS-bearing XMP in the picture's metadata."""
    with _quietly_open(data, media_type.split("/")[1].upper()) as image:
        if image.getexif().get_ifd(GPS_IFD):
            return True
    return any(_xmp_has_gps(packet) for packet in _xmp_packets(data))


# --- taking the location out, metadata only ------------------------------------------------------

_EXIF_HEAD = b"Exif\x00\x00"
_XMP_HEADS = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")
_GPS_WORDS = re.compile(rb"(?i)gps(lat|long|alt|pos|coord|version|timestamp|datestamp)")
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


def _xmp_has_gps(packet: bytes) -> bool:
    return _GPS_WORDS.search(packet) is not None


def tiff_without_gps(tiff: bytes) -> bytes | None:
    """The EXIF (TIFF) block with its GPS IFD unlinked from IFD0 and wiped, the same length (no
    other offset moves); None when the block is not well formed."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    out = bytearray(tiff)
    try:
        if struct.unpack_from(order + "H", out, 2)[0] != 42:
            return None
        ifd0 = struct.unpack_from(order + "I", out, 4)[0]
        count = struct.unpack_from(order + "H", out, ifd0)[0]
        end = ifd0 + 2 + 12 * count + 4  # entries and the next-IFD offset
        if end > len(out):
            return None
        at = next((ifd0 + 2 + 12 * i for i in range(count)
                   if struct.unpack_from(order + "H", out, ifd0 + 2 + 12 * i)[0] == GPS_IFD),
                  None)  # fmt: skip
        if at is None:
            return bytes(out)
        gps = struct.unpack_from(order + "I", out, at + 8)[0]
        _wipe_ifd(out, order, gps)
        out[at : end - 12] = out[at + 12 : end]  # later entries and the next offset move up
        out[end - 12 : end] = bytes(12)
        struct.pack_into(order + "H", out, ifd0, count - 1)
    except struct.error:
        return None
    return bytes(out)


def _wipe_ifd(out: bytearray, order: str, at: int) -> None:
    """Zero an IFD's entries and the values they point to (out of bounds: raises struct.error)."""
    count = struct.unpack_from(order + "H", out, at)[0]
    for i in range(count):
        entry = at + 2 + 12 * i
        kind, n = struct.unpack_from(order + "HI", out, entry + 2)
        size = _TYPE_SIZE.get(kind, 1) * n
        if size > 4:
            value = struct.unpack_from(order + "I", out, entry + 8)[0]
            if value + size <= len(out):
                out[value : value + size] = bytes(size)
    size = 2 + 12 * count + 4
    if at + size > len(out):
        raise struct.error("the GPS block runs past the end")
    out[at : at + size] = bytes(size)


def strip_location(data: bytes, media_type: str) -> bytes:
    """``data`` without its EXIF GPS block and GPS-bearing XMP; the picture's bytes untouched."""
    if media_type == "image/jpeg":
        return _strip_jpeg(data)
    if media_type == "image/png":
        return _strip_png(data)
    if media_type == "image/webp":
        return _strip_webp(data)
    return data


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes] | None:
    """The marker segments before the scan (marker, payload) and the rest from SOS on."""
    segments: list[tuple[int, bytes]] = []
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: the coded picture follows
            return segments, data[i:]
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            segments.append((marker, b""))
            i += 2
            continue
        length = struct.unpack_from(">H", data, i + 2)[0]
        if length < 2 or i + 2 + length > len(data):
            return None
        segments.append((marker, data[i + 4 : i + 2 + length]))
        i += 2 + length
    return None


def _strip_jpeg(data: bytes) -> bytes:
    parsed = _jpeg_segments(data)
    if parsed is None:
        return data  # Pillow decoded it, so this is unlikely; the check after stripping decides
    segments, scan = parsed
    out = [b"\xff\xd8"]
    for marker, payload in segments:
        if marker == 0xE1 and payload.startswith(_EXIF_HEAD):
            tiff = tiff_without_gps(payload[len(_EXIF_HEAD) :])
            if tiff is None:
                continue  # a malformed EXIF block goes as a whole
            payload = _EXIF_HEAD + tiff
        elif marker == 0xE1 and payload.startswith(_XMP_HEADS) and _xmp_has_gps(payload):
            continue
        elif marker == 0xE2 and payload.startswith(b"MPF\x00"):
            continue  # the index of the images after the picture, which go (below)
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            out.append(bytes([0xFF, marker]))
        else:
            out.append(bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload)
    # Only the picture: what follows its end (an MPO's further images with their own EXIF, or
    # anything appended) goes. In coded data 0xFF is stuffed, so the first FFD9 is the end.
    end = scan.find(b"\xff\xd9")
    out.append(scan if end < 0 else scan[: end + 2])
    return b"".join(out)


def _after_jpeg_end(data: bytes) -> bytes:
    parsed = _jpeg_segments(data) if sniff(data) == "image/jpeg" else None
    if parsed is None:
        return b""
    end = parsed[1].find(b"\xff\xd9")
    return b"" if end < 0 else parsed[1][end + 2 :]


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_XMP = b"XML:com.adobe.xmp\x00"
_PNG_RAW_EXIF = (b"Raw profile type exif\x00", b"Raw profile type APP1\x00")


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]] | None:
    chunks: list[tuple[bytes, bytes]] = []
    i = len(_PNG_SIGNATURE)
    while i + 12 <= len(data):
        length = struct.unpack_from(">I", data, i)[0]
        kind = data[i + 4 : i + 8]
        if i + 12 + length > len(data):
            return None
        chunks.append((kind, data[i + 8 : i + 8 + length]))
        i += 12 + length
        if kind == b"IEND":
            return chunks
    return None


def _strip_png(data: bytes) -> bytes:
    chunks = _png_chunks(data)
    if chunks is None:
        return data
    out = [_PNG_SIGNATURE]
    for kind, payload in chunks:
        if kind == b"eXIf":
            tiff = tiff_without_gps(payload.removeprefix(_EXIF_HEAD))
            if tiff is None:
                continue
            payload = tiff
        elif kind in (b"tEXt", b"zTXt", b"iTXt") and payload.startswith(_PNG_RAW_EXIF):
            continue  # EXIF as hex text (ImageMagick): dropped whole
        elif kind == b"iTXt" and payload.startswith(_PNG_XMP) and _xmp_has_gps(payload):
            continue
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        out.append(struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc))
    return b"".join(out)


def _webp_chunks(data: bytes) -> list[tuple[bytes, bytes]] | None:
    chunks: list[tuple[bytes, bytes]] = []
    i = 12
    while i + 8 <= len(data):
        kind = data[i : i + 4]
        length = struct.unpack_from("<I", data, i + 4)[0]
        if i + 8 + length > len(data):
            return None
        chunks.append((kind, data[i + 8 : i + 8 + length]))
        i += 8 + length + (length & 1)
    return chunks


def _strip_webp(data: bytes) -> bytes:
    chunks = _webp_chunks(data)
    if chunks is None:
        return data
    kept: list[tuple[bytes, bytes]] = []
    dropped = set()
    for kind, payload in chunks:
        if kind == b"EXIF":
            head = _EXIF_HEAD if payload.startswith(_EXIF_HEAD) else b""
            tiff = tiff_without_gps(payload[len(head) :])
            if tiff is None:
                dropped.add(kind)
                continue
            payload = head + tiff
        elif kind == b"XMP " and _xmp_has_gps(payload):
            dropped.add(kind)
            continue
        kept.append((kind, payload))
    body = bytearray()
    for kind, payload in kept:
        if kind == b"VP8X" and payload:
            flags = payload[0] & ~(0x08 * (b"EXIF" in dropped)) & ~(0x04 * (b"XMP " in dropped))
            payload = bytes([flags]) + payload[1:]
        body += kind + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + bytes(body)


def _xmp_packets(data: bytes) -> list[bytes]:
    """The XMP packets of a JPEG, PNG or WebP (for the check after stripping)."""
    kind = sniff(data)
    if kind == "image/jpeg":
        parsed = _jpeg_segments(data)
        return [
            p for m, p in (parsed[0] if parsed else []) if m == 0xE1 and p.startswith(_XMP_HEADS)
        ]
    if kind == "image/png":
        return [p for k, p in _png_chunks(data) or [] if k == b"iTXt"
                and p.startswith(_PNG_XMP)]  # fmt: skip
    if kind == "image/webp":
        return [p for k, p in _webp_chunks(data) or [] if k == b"XMP "]
    return []
