"""Write the daily report: ``reports/daily-YYYY-MM-DD.html`` and ``.pdf`` in the workspace.

The PDF is headless Chromium's print-to-PDF (Playwright) of the same HTML, so the Chinese text is
set in the installed Noto CJK fonts and embedded by Chromium.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.core.errors import UserError
from citybrain.report.figures import DailyFigures, daily_figures
from citybrain.report.render import render_html

if TYPE_CHECKING:
    from citybrain.core import Workspace
    from citybrain.core.engine import Engine

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@dataclass(frozen=True)
class DailyReport:
    html: Path
    pdf: Path
    figures: DailyFigures


def reports_dir(workspace: Workspace) -> Path:
    return workspace.root / "reports"


def list_reports(workspace: Workspace) -> list[Path]:
    """The daily reports in the workspace, newest first (their HTML files)."""
    folder = reports_dir(workspace)
    return sorted(folder.glob("daily-*.html"), reverse=True) if folder.is_dir() else []


def chromium_executable() -> str | None:
    """Debian's Chromium when installed; None lets Playwright use its own."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def print_pdf(html: Path, pdf: Path) -> None:
    """Print ``html`` to ``pdf`` (A4, backgrounds) with headless Chromium; the file appears
    whole or not at all (printed beside it, then renamed).

    Printed from a thread of its own: Playwright's sync API refuses a thread in which an asyncio
    loop runs — a server's, or another sync Playwright's already started in that thread."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="print-pdf") as pool:
        pool.submit(_print_pdf, html, pdf).result()


def _print_pdf(html: Path, pdf: Path) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    part = pdf.with_name(f".{pdf.name}.part")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_executable(), args=list(CHROMIUM_ARGS)
            )
            try:
                page = browser.new_page()
                page.goto(html.resolve().as_uri(), wait_until="load")
                page.pdf(
                    path=str(part), format="A4", print_background=True, prefer_css_page_size=True
                )
            finally:
                browser.close()
        part.replace(pdf)
    except PlaywrightError as exc:
        part.unlink(missing_ok=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"could not print the report to PDF with Chromium: {first}",
            hint="install Chromium (Debian package chromium) or run `playwright install chromium`",
        ) from None


def write_daily_html(
    workspace: Workspace,
    day: date,
    *,
    engine: Engine | None = None,
    figures: DailyFigures | None = None,
) -> DailyReport:
    """Write ``reports/daily-DAY.html`` (whole or not at all) from ``figures`` (read now when
    not given); the PDF is not printed here. A PDF left from an earlier report of the same day is
    removed: it would no longer match."""
    figures = figures or daily_figures(workspace, day, engine=engine)
    folder = reports_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / f"daily-{day.isoformat()}.html"
    part = html.with_name(f".{html.name}.part")
    part.write_text(render_html(figures, workspace.config.name), encoding="utf-8")
    part.replace(html)
    pdf = html.with_suffix(".pdf")
    pdf.unlink(missing_ok=True)
    return DailyReport(html, pdf, figures)


def write_daily_report(
    workspace: Workspace, day: date, *, engine: Engine | None = None
) -> DailyReport:
    """Write the day's report as HTML and print it to PDF (a UserError when Chromium cannot)."""
    written = write_daily_html(workspace, day, engine=engine)
    print_pdf(written.html, written.pdf)
    return written
