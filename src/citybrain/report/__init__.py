"""Reports for leaders (大数据专报): the daily report as HTML and PDF, figures from the database."""

from citybrain.report.daily import (
    DailyReport,
    PdfPrinter,
    list_reports,
    print_pdf,
    reports_dir,
    write_daily_html,
    write_daily_report,
)
from citybrain.report.figures import DailyFigures, daily_figures, data_day

__all__ = [
    "DailyFigures",
    "DailyReport",
    "PdfPrinter",
    "daily_figures",
    "data_day",
    "list_reports",
    "print_pdf",
    "reports_dir",
    "write_daily_html",
    "write_daily_report",
]
