"""Reports for leaders (大数据专报): the daily reports written in the workspace, listed and served.

``citybrain report daily --date D`` writes ``reports/daily-D.html`` and ``.pdf``; this router lists
them newest first and serves either file.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import FileResponse
from pydantic import BaseModel

from citybrain.api.deps import get_workspace, require
from citybrain.api.security.roles import Permission
from citybrain.core import Workspace
from citybrain.report import list_reports, reports_dir

router = APIRouter(prefix="/reports", tags=["reports"])

ReportFile = Annotated[
    str,
    Path(
        pattern=r"^daily-\d{4}-\d{2}-\d{2}\.(html|pdf)$",
        description="a report's file name, e.g. daily-2025-03-14.pdf",
    ),
]


class ReportItem(BaseModel):
    date: str
    title_zh: str
    title_en: str
    html: str  # URL of the HTML report
    pdf: str | None  # URL of the PDF, when it was printed


@router.get(
    "",
    response_model=list[ReportItem],
    dependencies=[Depends(require(Permission.FINDINGS_READ))],
)
def reports(workspace: Annotated[Workspace, Depends(get_workspace)]) -> list[ReportItem]:
    """The daily reports in the workspace, newest first."""
    items = []
    for html in list_reports(workspace):
        day = html.stem.removeprefix("daily-")
        pdf = html.with_suffix(".pdf")
        items.append(
            ReportItem(
                date=day,
                title_zh=f"大数据专报 {day}",
                title_en=f"Daily big-data report {day}",
                html=f"/api/v1/reports/{html.name}",
                pdf=f"/api/v1/reports/{pdf.name}" if pdf.is_file() else None,
            )
        )
    return items


@router.get(
    "/{name}",
    response_class=FileResponse,
    responses={404: {"description": "no report of that name in the workspace"}},
    dependencies=[Depends(require(Permission.FINDINGS_READ))],
)
def report_file(
    name: ReportFile, workspace: Annotated[Workspace, Depends(get_workspace)]
) -> FileResponse:
    """One report file (HTML or PDF), inline: the web app shows it, saving keeps its name."""
    path = reports_dir(workspace) / name
    if not path.is_file():
        raise HTTPException(status_code=404, detail=f"no report {name}")
    media = "application/pdf" if name.endswith(".pdf") else "text/html; charset=utf-8"
    return FileResponse(path, media_type=media, filename=name, content_disposition_type="inline")
