"""What the routers that take photos share: the uploaded file's safe name and the URL a stored
case photo is served at (``routers.cases.case_photo``)."""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import UploadFile

#: The case desk serves a case's photo here (``routers.cases.case_photo``; a test follows it).
CASE_PHOTO = "/api/v1/cases/{case_id}/photos/{sha}"
NAME_CHARS = 255  # an attachment's name column


def upload_name(upload: UploadFile, fallback: str) -> str:
    """The file's own name without any folder a browser sent (Windows ones too), trimmed; the
    fallback when nothing is left."""
    name = PurePosixPath((upload.filename or "").replace("\\", "/")).name.strip()
    return name[:NAME_CHARS] or fallback


def case_photo_url(case_id: int, sha: str) -> str:
    return CASE_PHOTO.format(case_id=case_id, sha=sha)
