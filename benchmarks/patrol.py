"""Patrol and drone photos: what checking a photo and a drone flight cost, beside a reference.

    uv run python benchmarks/patrol.py [--images 20] [--megapixels 12] [--runs 3]
                                       [--out benchmarks/results/patrol.json]

Photos: realistic camera JPEGs (noise, so they do not compress away; about 0.5 MB a Mpx at
quality 90) with an EXIF GPS block. Measured, in CPU seconds of this process per photo, median of
``--runs``:

- ``check_photo``: what every patrol, drone and (through the portal) resident photo goes through —
  a full decode at 1/8 scale, the GPS read, the position taken out of the metadata, the check after;
- reference ``reencode``: the other way to take the position out, Pillow decoding and saving the
  picture again with ``quality="keep"`` (what ``/portal/photos`` does today), in the same process
  on the same bytes;
- ``flight``: ``POST /api/v1/patrol/drone-flights`` with ``--images`` such photos through the app
  in-process (TestClient; multipart parsing, the checks, storing, the cases in SQLite), per image.

The machine is shared: the load average is in the JSON, and CPU time is the figure to compare,
not wall time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from citybrain.cases.photos import GPS_IFD, check_photo


def camera_jpeg(megapixels: float, seed: int) -> bytes:
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    noise = Image.effect_noise((width // 4, height // 4), 40 + seed).convert("RGB")
    image = noise.resize((width, height), Image.Resampling.BILINEAR)
    exif = Image.Exif()
    exif[0x010F] = "DJI"
    lon, lat = 104.01 + seed * 1e-4, 30.51
    exif[GPS_IFD] = {1: "N", 2: (30.0, 30.0, (lat - 30.5) * 3600), 3: "E",
                     4: (104.0, 0.0, (lon - 104.0) * 3600)}  # fmt: skip
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def reencode(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        del exif[GPS_IFD]
        out = io.BytesIO()
        image.save(out, format="JPEG", exif=exif.tobytes(), quality="keep")
        return out.getvalue()


def cpu_per_call(fn: Callable[[bytes], object], photos: list[bytes], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        for data in photos:
            fn(data)
        times.append((time.process_time() - start) / len(photos))
    return statistics.median(times)


def flight_cpu(photos: list[bytes], runs: int) -> float:
    from datetime import UTC, datetime, timedelta

    from fastapi.testclient import TestClient

    from citybrain.api import create_app
    from citybrain.api.security import accounts, tokens
    from citybrain.api.settings import ApiSettings
    from citybrain.core import Workspace
    from citybrain.core.opsdb import session, upgrade

    times = []
    for run in range(runs):
        workspace = Workspace.init(Path(tempfile.mkdtemp(prefix="patrol-bench-")) / "ws")
        upgrade(workspace.ops_db_url)
        app = create_app(workspace, ApiSettings(rate_limit_enabled=False))
        with TestClient(app) as client:
            security = app.state.security
            with session(security.ops_engine) as db:
                user = accounts.create_user(
                    db, "worker", role="clerk", password=None, scope=["grid:G01"]
                )
                user_id = user.id
            token = tokens.issue_access_token(
                security.signing_key, user_id, datetime.now(UTC), timedelta(minutes=15)
            )
            manifest = {"flight_id": f"B{run}", "category": "illegal_dumping"}
            files = [
                ("images", (f"DJI_{i:04d}.JPG", d, "image/jpeg")) for i, d in enumerate(photos)
            ]
            start = time.process_time()
            answer = client.post(
                "/api/v1/patrol/drone-flights", headers={"Authorization": f"Bearer {token}"},
                data={"manifest": json.dumps(manifest)}, files=files,
            )  # fmt: skip
            times.append((time.process_time() - start) / len(photos))
            assert answer.status_code == 201, answer.text
            assert answer.json()["landed"] == len(photos), answer.text
        security.ops_engine.dispose()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/patrol.json"))
    args = parser.parse_args()
    photos = [camera_jpeg(args.megapixels, i) for i in range(min(args.images, 5))]
    load_before = os.getloadavg()
    checked = cpu_per_call(lambda d: check_photo(d, max_bytes=64 << 20), photos, args.runs)
    reference = cpu_per_call(reencode, photos, args.runs)
    batch = [photos[i % len(photos)] for i in range(args.images)]
    per_image = flight_cpu(batch, args.runs)
    result: dict[str, Any] = {
        "megapixels": args.megapixels,
        "photo_bytes": statistics.median(len(p) for p in photos),
        "check_photo_cpu_s": round(checked, 4),
        "reference_reencode_cpu_s": round(reference, 4),
        "check_vs_reencode": round(checked / reference, 2),
        "flight_images": args.images,
        "flight_cpu_s_per_image": round(per_image, 4),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
