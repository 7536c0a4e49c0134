"""The daily report: HTML and PDF in the workspace, Chinese text visible on the PDF page (ink where
the title is), and its figures equal to the database's."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import func, select

from citybrain.cases import Case, CaseEvent
from citybrain.cli.main import main
from citybrain.core import Workspace
from citybrain.core.opsdb import connect, session, upgrade
from citybrain.topics import FINDINGS_SCHEMA, REASON_TYPE

DAY = date(2025, 3, 14)
LOCAL = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Chromium (Debian package chromium) not installed"
)


def _findings(periods: list[str]) -> pa.Table:
    n = len(periods)
    reason = {
        "signal": "excess_so2",
        "observed": 74.8,
        "expected": 15.7,
        "contribution": 1.0,
        "text_zh": "二氧化硫时段均值74.8µg/m³，周边站点同期约15.7µg/m³",
        "text_en": "SO2 averaged 74.8 µg/m³; nearby stations about 15.7 µg/m³",
    }
    return pa.table(
        {
            "topic": ["air_quality"] * n,
            "subject_type": ["air_station"] * n,
            "subject_id": [f"AQ{i:04d}" for i in range(n)],
            "period": periods,
            "score": np.linspace(0.5, 1.0, n),
            "level": ["high" if i % 2 else "medium" for i in range(n)],
            "lon": 104.0 + np.arange(n) * 0.01,
            "lat": [30.6] * n,
            "grid_id": [None] * n,
            "community_id": [None] * n,
            "street_id": [None] * n,
            "model_version": ["air_quality-1"] * n,
            "reasons": pa.array([[reason]] * n, pa.list_(REASON_TYPE)),
            "run_id": ["r1"] * n,
        },
        schema=FINDINGS_SCHEMA.append(pa.field("run_id", pa.string())),
    )


def _street_summary() -> pa.Table:
    """Two runs of the epidemic topic's summary per street; the later (r2) is the one shown."""
    rows = [
        ("S1", 9, 9, 9, 9, 9, 9, 0.1, "r1"),
        ("S1", 3, 4, 2, 5, 1, 6, 0.75, "r2"),
        ("S2", 1, 0, 3, 2, 2, 1, None, "r2"),
    ]
    names = ("street_id", "cases", "contacts_high", "contacts_medium", "risk_arrivals",
             "arrivals_pending", "medical_support", "screening_coverage", "run_id")  # fmt: skip
    table = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows])
    return table.append_column("chronic_register", pa.array([True, False, False]))


def _epidemic_in_db(workspace: Workspace) -> dict[str, int]:
    """Totals of the latest run of topic/epidemic_street_summary, as the lake holds them."""
    with workspace.engine() as engine:
        t = engine.table("topic", "epidemic_street_summary")
        latest = t.filter(
            t.run_id == engine.to_arrow(t.aggregate(r=t.run_id.max()))["r"][0].as_py()
        )
        sums = engine.to_arrow(latest.aggregate(cases=latest.cases.sum(),
                                                pending=latest.arrivals_pending.sum()))  # fmt: skip
    return {k: int(v[0].as_py()) for k, v in zip(sums.column_names, sums.columns, strict=True)}


def _case(i: int, department: str, created: datetime, **more: object) -> Case:
    return Case(
        topic="air_quality",
        subject_type="air_station",
        subject_id=f"AQ{i:04d}",
        period=DAY.isoformat(),
        level="high",
        department=department,
        created_at=created,
        **more,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    workspace = Workspace.init(tmp_path / "ws")
    periods = ["2025-03-12"] * 2 + ["2025-03-13"] * 4 + [DAY.isoformat()] * 7 + ["2025-03-15"]
    daily = pa.table(
        {
            "sensor_id": ["AQ0001", "AQ0002", "AQ0003", "AQ0004", "AQ0001"],
            "date": [DAY.isoformat()] * 4 + ["2025-03-13"],
            "aqi": [42.0, 87.0, 163.0, None, 55.0],
            "category_zh": ["优", "良", "中度污染", None, "良"],
            "primary": ["", "pm25", "pm10", "", "pm25"],
            "lon": [104.0, 104.01, 104.02, 104.03, 104.0],
            "lat": [30.6, 30.61, 30.62, 30.63, 30.6],
            "run_id": ["r1"] * 5,
        }
    )
    with workspace.engine() as engine:
        engine.write(_findings(periods), "topic", "air_quality_findings", partition_by=["run_id"])
        engine.write(daily, "topic", "air_quality_station_daily", partition_by=["run_id"])
        engine.write(_street_summary(), "topic", "epidemic_street_summary", partition_by=["run_id"])
        areas = pa.table({"level": ["street", "street"], "code": ["S1", "S2"],
                          "name": ["和平街道", "锦华街道"], "parent_code": ["D", "D"],
                          "geometry": [None, None]})  # fmt: skip
        engine.write(areas, "std", "admin_area")
    # the city switched the epidemic topic on, in its resume-work phase
    text = (workspace.root / "citybrain.toml").read_text("utf-8")
    (workspace.root / "citybrain.toml").write_text(
        text + '\n[topics.epidemic]\nenabled = true\nscenario = "复工复产"\n', "utf-8"
    )
    noon = datetime(2025, 3, 14, 12, tzinfo=LOCAL)
    ops = connect(workspace.ops_db_url)
    upgrade(ops)
    with session(ops) as db:
        db.add_all(
            [
                _case(1, "区生态环境局", noon),
                _case(2, "区生态环境局", noon + timedelta(hours=3)),
                _case(
                    3, "区生态环境局", noon, status="closed", closed_at=noon + timedelta(hours=5)
                ),
                _case(
                    4,
                    "区城管局",
                    noon - timedelta(days=3),
                    status="dispatched",
                    sla_due_at=noon - timedelta(days=1),
                ),
                _case(5, "区城管局", noon + timedelta(days=2)),  # another day
            ]
        )
        db.commit()
    ops.dispose()
    return workspace


def _opened_in_db(workspace: Workspace) -> int:
    start = datetime(2025, 3, 14, tzinfo=LOCAL)
    ops = connect(workspace.ops_db_url)
    with session(ops) as db:
        query = select(func.count()).where(
            Case.created_at >= start, Case.created_at < start + timedelta(days=1)
        )
        count = int(db.scalar(query) or 0)
    ops.dispose()
    return count


def test_daily_report_html_and_pdf(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], browser: object
) -> None:
    """``browser``: the browser tests' Playwright, already started in this thread — as in a test
    worker that ran a browser test first; the report still prints (it prints in a thread of its
    own: Playwright's sync API refuses a thread where another one runs)."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    main(["-w", str(workspace.root), "report", "daily", "--date", DAY.isoformat()])
    printed = capsys.readouterr().out.split()
    html = workspace.root / "reports" / "daily-2025-03-14.html"
    pdf = workspace.root / "reports" / "daily-2025-03-14.pdf"
    assert printed == [str(html), str(pdf)]
    assert "大数据专报" in html.read_text("utf-8")

    document = pdfium.PdfDocument(str(pdf))
    page = document[0]
    text = " ".join(
        " ".join(document[i].get_textpage().get_text_range().split()) for i in range(len(document))
    )
    assert "大数据专报" in text and "空气质量" in text
    # the figures in the PDF's text are the database's
    opened = _opened_in_db(workspace)
    assert opened == 3  # the three of 区生态环境局, none other that day
    total = re.findall(r"合计 Total (\d+) (\d+) (\d+)", text)
    assert total, text
    assert [int(g) for g in total[-1]] == [opened, 1, 1]  # the cases table is the last
    # the epidemic situation per street, the latest run's, with the street's name
    epidemic = _epidemic_in_db(workspace)
    assert epidemic == {"cases": 4, "pending": 3}
    row = re.search(r"疫情态势.*?合计 Total (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", text)
    assert row is not None, text
    assert int(row.group(1)) == epidemic["cases"] and int(row.group(5)) == epidemic["pending"]
    assert "和平街道" in text.replace(" ", "") and "复工复产" in text and "75%" in text
    valid = re.search(r"有效日AQI (\d+) 个", text)
    assert valid is not None and valid.group(1) == "3", text  # the station without an AQI left out
    assert re.search(r"最高 Highest: AQ0003 AQI 163", text), text
    new = re.search(r"当日新发现 (\d+) 条", text)
    assert new is not None and new.group(1) == "7", text

    # the Chinese font is embedded (a subset), so the text shows wherever the PDF is opened
    assert re.search(rb"[A-Z]{6}\+NotoSansCJK", pdf.read_bytes())
    # ink where the title is: the top band of the first page has dark pixels, a blank band not
    image = np.asarray(page.render(scale=1.0).to_pil().convert("L"))
    height = image.shape[0]
    title_band = image[int(height * 0.05) : int(height * 0.10)]
    margin_band = image[int(height * 0.985) :]
    assert (title_band < 128).mean() > 0.01
    assert (margin_band < 128).mean() < 0.001


def test_cases_as_they_stood_that_day(workspace: Workspace) -> None:
    """A past day's cases: counted in the city's day (Beijing time), overdue as it stood at the
    day's end even if closed since, and the cases opened later for that day's findings."""
    from citybrain.report import daily_figures

    noon = datetime(2025, 3, 14, 12, tzinfo=LOCAL)
    day = timedelta(days=1)
    ops = connect(workspace.ops_db_url)
    with session(ops) as db:
        db.add_all(
            [
                # overdue on the 14th, closed on the 15th: still overdue in the 14th's report
                _case(6, "区城管局", noon - 2 * day, status="closed", sla_due_at=noon - day,
                      closed_at=noon + day),
                # 00:30 in Beijing is the 13th in UTC: opened on the 14th
                _case(7, "区城管局", datetime(2025, 3, 14, 0, 30, tzinfo=LOCAL)),
                # opened three days later for the 14th's finding (a late run)
                _case(8, "区城管局", noon + 3 * day),
                # due and closed before the 14th ended: not overdue
                _case(9, "区城管局", noon - 3 * day, status="closed", sla_due_at=noon - day,
                      closed_at=noon - day - timedelta(hours=2)),
                # dispatched on the 11th, due on the 13th, returned on the 15th: in work (and
                # overdue) at the end of the 14th, as its events say
                _case(10, "区城管局", noon - 3 * day, status="returned", sla_due_at=noon - day),
            ]
        )  # fmt: skip
        db.flush()
        ten = db.scalars(select(Case).where(Case.subject_id == "AQ0010")).one()
        db.add_all(
            [
                CaseEvent(case_id=ten.id, action=a, actor="t", at=at, from_status=f, to_status=t)
                for a, at, f, t in (("create", noon - 3 * day, None, "new"),
                                    ("dispatch", noon - 3 * day, "new", "dispatched"),
                                    ("return", noon + day, "dispatched", "returned"))
            ]
        )  # fmt: skip
    ops.dispose()
    cases = {c.department: c for c in daily_figures(workspace, DAY).cases}
    city = cases["区城管局"]
    assert (city.opened, city.closed, city.overdue, city.for_day) == (1, 0, 3, 7)
    env = cases["区生态环境局"]
    assert (env.opened, env.closed, env.overdue, env.for_day) == (3, 1, 0, 3)
    # the day after, case 6 was closed and 10 returned; 4 is still overdue
    after = {c.department: c for c in daily_figures(workspace, DAY + day).cases}
    assert (after["区城管局"].closed, after["区城管局"].overdue) == (1, 1)


def test_epidemic_only_when_switched_on(workspace: Workspace) -> None:
    from citybrain.report import write_daily_html
    from citybrain.topics.builtin.epidemic import Epidemic
    from citybrain.topics.settings import configure_topic

    on = write_daily_html(workspace, DAY)
    assert on.figures.epidemic is not None and on.figures.epidemic.run_id == "r2"
    assert not on.figures.epidemic.chronic_register  # the S2 row says it was not connected
    assert "精准医疗只含独居与高龄老人" in on.html.read_text("utf-8")
    configure_topic(workspace, Epidemic(), ["enabled=false"])
    off = write_daily_html(workspace, DAY)
    assert off.figures.epidemic is None and "疫情态势" not in off.html.read_text("utf-8")


def test_bad_date_is_one_line(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["-w", str(workspace.root), "report", "daily", "--date", "14/03/2025"])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert "expected YYYY-MM-DD" in err and "Traceback" not in err
