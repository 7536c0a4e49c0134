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
from typing import TYPE_CHECKING, Any

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
    whole or not at all (printed beside it, then renamed). A UserError when Chromium cannot."""
    with PdfPrinter() as printer:
        printer.print(html, pdf)


class PdfPrinter:
    """Headless Chromium, started in a thread of its own as soon as the printer is made, so that
    its start overlaps what the caller does meanwhile: the Playwright driver, the browser and a
    page take about 1.3 s of the 2.6 s a report's PDF costs (the 10M city's nightly run), and
    the pipeline's report step reads its figures and writes the HTML in that time.

    Playwright's sync API is used from that one thread alone: it refuses a thread in which an
    asyncio loop runs (a server's, or another sync Playwright's already started there). A
    browser that cannot start is said when something is printed (a UserError, as Chromium's
    own failure to print)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="print-pdf")
        self._playwright: Any = None
        self._browser: Any = None
        self._page: Any = None
        self._failed: str | None = None
        self._started = self._pool.submit(self._start)

    def __enter__(self) -> PdfPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def print(self, html: Path, pdf: Path) -> None:
        """Print ``html`` to ``pdf``, whole or not at all (printed beside it, then renamed)."""
        self._started.result()  # what is not Chromium's failure (a bug) is raised as it is
        self._pool.submit(self._print, html, pdf).result()

    def close(self) -> None:
        try:
            self._pool.submit(self._stop).result()
        finally:
            self._pool.shutdown()

    def _start(self) -> None:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright

        try:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=chromium_executable(), args=list(CHROMIUM_ARGS)
            )
            self._page = self._browser.new_page()
        except PlaywrightError as exc:
            self._failed = _first_line(exc)

    def _print(self, html: Path, pdf: Path) -> None:
        from playwright.sync_api import Error as PlaywrightError

        if self._failed is not None:
            raise _cannot_print(self._failed)
        part = pdf.with_name(f".{pdf.name}.part")
        try:
            self._page.goto(html.resolve().as_uri(), wait_until="load")
            self._page.pdf(
                path=str(part), format="A4", print_background=True, prefer_css_page_size=True
            )
            part.replace(pdf)
        except PlaywrightError as exc:
            part.unlink(missing_ok=True)
            raise _cannot_print(_first_line(exc)) from None

    def _stop(self) -> None:
        from playwright.sync_api import Error as PlaywrightError

        try:
            if self._browser is not None:
                self._browser.close()
        except PlaywrightError:
            pass  # a browser that died is closed
        finally:
            if self._playwright is not None:
                self._playwright.stop()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _cannot_print(why: str) -> UserError:
    return UserError(
        f"could not print the report to PDF with Chromium: {why}",
        hint="install Chromium (Debian package chromium) or run `playwright install chromium`",
    )


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
