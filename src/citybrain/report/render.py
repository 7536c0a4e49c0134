"""The daily report as one self-contained HTML page: tables, and charts and a map figure drawn as
inline SVG (images that need no script and print as they show)."""

from __future__ import annotations

from html import escape

from citybrain.report.figures import AirFigures, DailyFigures, EpidemicFigures, TopicFigures

LEVEL_COLOURS = {"high": "#c92a2a", "medium": "#f08c00", "low": "#868e96"}
LEVEL_ZH = {"high": "高", "medium": "中", "low": "低"}
#: the AQI category colours of HJ 633-2012 (Table 2)
CATEGORY_COLOURS = {
    "优": "#00e400",
    "良": "#ffff00",
    "轻度污染": "#ff7e00",
    "中度污染": "#ff0000",
    "重度污染": "#99004c",
    "严重污染": "#7e0023",
}

STYLE = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif;
       color: #212529; font-size: 11pt; }
h1 { font-size: 20pt; color: #7e0023; margin: 0 0 4pt; }
h2 { font-size: 14pt; border-bottom: 2px solid #7e0023; padding-bottom: 2pt; margin-top: 16pt; }
h3 { font-size: 12pt; margin: 10pt 0 4pt; }
.sub { color: #495057; font-size: 9.5pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; }
th, td { border: 1px solid #ced4da; padding: 3pt 5pt; text-align: left; font-size: 9.5pt; }
th { background: #f1f3f5; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.kpis { display: flex; gap: 8pt; margin: 8pt 0; }
.kpi { flex: 1; border: 1px solid #ced4da; border-radius: 4pt; padding: 6pt; }
.kpi b { display: block; font-size: 18pt; color: #7e0023; }
.figs { display: flex; gap: 10pt; align-items: flex-start; }
section.topic { page-break-inside: avoid; }
"""


def _n(value: int) -> str:
    return f"{value:,}"


def bar_chart(series: list[tuple[str, int]], *, width: int = 360, height: int = 140) -> str:
    """Findings per period as an SVG bar chart (empty chart with a note when there is none)."""
    if not series:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
            f'<text x="10" y="{height // 2}" font-size="12">暂无数据 / no data</text></svg>'
        )
    top = max(v for _, v in series) or 1
    left, bottom = 34, height - 28
    step = (width - left - 8) / len(series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">',
        f'<line x1="{left}" y1="{bottom}" x2="{width - 4}" y2="{bottom}" stroke="#868e96"/>',
        f'<text x="{left - 4}" y="12" font-size="9" text-anchor="end">{top}</text>',
    ]
    for i, (period, value) in enumerate(series):
        h = (bottom - 16) * value / top
        x = left + i * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'fill="#7e0023"><title>{escape(period)}: {value}</title></rect>'
        )
        if i in (0, len(series) - 1) or len(series) <= 7:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{bottom + 12}" font-size="8" '
                f'text-anchor="middle">{escape(period[5:] or period)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def map_figure(
    points: list[tuple[float, float, str]],
    places: list[tuple[float, float]] | None = None,
    *,
    size: int = 220,
) -> str:
    """The day's findings coloured by level over every place the topic has findings (grey), on
    a plain lon/lat frame (a map figure)."""
    places = places or []
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}" role="img">',
        f'<rect x="0.5" y="0.5" width="{size - 1}" height="{size - 1}" fill="#f8f9fa" '
        'stroke="#adb5bd"/>',
    ]
    if points or places:
        lons = [p[0] for p in points] + [p[0] for p in places]
        lats = [p[1] for p in points] + [p[1] for p in places]
        lon0, lon1 = min(lons), max(lons)
        lat0, lat1 = min(lats), max(lats)
        span = max(lon1 - lon0, lat1 - lat0, 1e-3)
        pad = 14
        for lon, lat in places:
            x = pad + (lon - lon0) / span * (size - 2 * pad)
            y = size - pad - (lat - lat0) / span * (size - 2 * pad)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="#adb5bd"/>')
        for lon, lat, level in points:
            x = pad + (lon - lon0) / span * (size - 2 * pad)
            y = size - pad - (lat - lat0) / span * (size - 2 * pad)
            colour = LEVEL_COLOURS.get(level) or CATEGORY_COLOURS.get(level, "#495057")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}" fill-opacity="0.8"/>'
            )
        parts.append(f'<text x="4" y="{size - 4}" font-size="8">{lon0:.3f}E {lat0:.3f}N</text>')
    else:
        parts.append(f'<text x="10" y="{size // 2}" font-size="11">无定位 / no places</text>')
    parts.append("</svg>")
    return "".join(parts)


def _topic(t: TopicFigures) -> str:
    levels = " · ".join(f"{LEVEL_ZH.get(k, k)} {_n(v)}" for k, v in sorted(t.by_level.items()) if v)
    reasons = "".join(
        f"<tr><td>{escape(s)}</td>"
        f"<td>{escape(zh)}<br><span class='sub'>{escape(en)}</span></td></tr>"
        for s, zh, en in t.top_reasons
    )
    table = (
        f"<table><tr><th>对象 Subject</th><th>主要原因 Main reason</th></tr>{reasons}</table>"
        if reasons
        else ""
    )
    return (
        f'<section class="topic" id="topic-{escape(t.name)}">'
        f"<h3>{escape(t.title_zh)} <span class='sub'>{escape(t.title_en)}</span></h3>"
        f'<p>当日新发现 <b class="topic-new">{_n(t.new)}</b> 条 / new findings'
        f"{'（' + escape(levels) + '）' if levels else ''}</p>"
        f'<div class="figs"><div>{bar_chart(t.trend)}<div class="sub">趋势 Trend</div></div>'
        f'<div>{map_figure(t.points, t.places)}<div class="sub">分布 Map</div></div></div>'
        f"{table}</section>"
    )


NUMBERS = "一二三四五六七八九"
SCENARIO = {"strict_control": "严防严控 strict control", "resume_work": "复工复产 resume work"}


def _epidemic(e: EpidemicFigures | None, number: str) -> str:
    if e is None:
        return ""
    columns = ("cases", "contacts_high", "contacts_medium", "risk_arrivals", "arrivals_pending",
               "medical_support")  # fmt: skip

    def coverage(value: float | None) -> str:
        return "—" if value is None else f"{value:.0%}"

    rows = "".join(
        f"<tr><td>{escape(s.street)}</td>"
        + "".join(f"<td class='n'>{_n(int(getattr(s, c)))}</td>" for c in columns)
        + f"<td class='n'>{coverage(s.screening_coverage)}</td></tr>"
        for s in e.streets
    )
    totals = "".join(
        f"<th class='n' id='epidemic-{c.replace('_', '-')}'>{_n(e.total(c))}</th>" for c in columns
    )
    register = (
        "精准医疗含慢病管理/家庭医生签约名册 / medical support includes the chronic-care register"
        if e.chronic_register
        else "慢病管理/家庭医生签约名册未接入，精准医疗只含独居与高龄老人 / the chronic-care"
        " register is not connected: medical support lists the elderly only"
    )
    return (
        f"<h2>{number}、疫情态势 Epidemic situation by street</h2>"
        f"<p>当前场景 Scenario: <b>{escape(SCENARIO.get(e.scenario, e.scenario))}</b>。"
        f"{escape(register)}。</p>"
        "<table><tr><th>街道 Street</th><th>病例 Cases</th><th>密接(高) Contacts high</th>"
        "<th>密接(中) Contacts medium</th><th>风险地区入域 Risk arrivals</th>"
        "<th>待跟进 Pending</th><th>精准医疗 Medical support</th>"
        f"<th>排查覆盖 Screening</th></tr>{rows}"
        f"<tr><th>合计 Total</th>{totals}<th></th></tr></table>"
    )


def _air(air: AirFigures | None, number: str = "三") -> str:
    if air is None:
        return ""
    rows = "".join(
        f"<tr><td><span style='color:{CATEGORY_COLOURS.get(zh, '#495057')}'>●</span> "
        f"{escape(zh)} {escape(en)}</td><td class='n'>{_n(n)}</td></tr>"
        for zh, en, n in air.by_category
    )
    worst = ""
    if air.worst is not None:
        station, value, zh, primary = air.worst
        worst = (
            f"<p>最高 Highest: {escape(station)} AQI <b id='air-worst'>{value:.0f}</b>"
            f"（{escape(zh)}{'，首要污染物 ' + escape(primary) if primary else ''}）</p>"
        )
    return (
        f"<h2>{number}、空气质量 Air quality (HJ 633-2012)</h2>"
        f"<p>站点 {_n(air.stations)} 个，有效日AQI <b id='air-valid'>{_n(air.with_aqi)}</b> 个"
        " / stations, with a valid daily AQI.</p>"
        f"<div class='figs'><div><table><tr><th>类别 Category</th><th>站点 Stations</th></tr>"
        f"{rows}</table>{worst}</div><div>{map_figure(air.points)}"
        "<div class='sub'>站点日AQI类别 Stations by category</div></div></div>"
    )


def render_html(figures: DailyFigures, city: str) -> str:
    day = figures.day.isoformat()
    systems = "".join(
        f"<tr><td>{escape(s.system_id)}</td><td class='n'>{_n(s.rows_landed)}</td>"
        f"<td class='n'>{_n(s.rows_quarantined)}</td><td>{escape(s.last_status)}</td>"
        f"<td>{f'{s.last_load_at:%Y-%m-%d %H:%M}' if s.last_load_at else '—'}</td></tr>"
        for s in figures.systems
    )
    generated = f"{figures.generated_at:%Y-%m-%d %H:%M}"
    cases = (
        "".join(
            f"<tr><td>{escape(c.department)}</td><td class='n'>{_n(c.opened)}</td>"
            f"<td class='n'>{_n(c.closed)}</td><td class='n'>{_n(c.overdue)}</td>"
            f"<td class='n'>{_n(c.for_day)}</td></tr>"
            for c in figures.cases
        )
        or "<tr><td colspan='5'>当日无案件 / no cases</td></tr>"
    )
    topics = "".join(_topic(t) for t in figures.topics) or "<p>未安装专题 / no topics</p>"
    extra = [part for part in (figures.air, figures.epidemic) if part is not None]
    air_no = NUMBERS[2]
    epidemic_no = NUMBERS[2 + (figures.air is not None)]
    cases_no = NUMBERS[2 + len(extra)]
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(city)} 大数据专报 {day}</title><style>{STYLE}</style></head>
<body>
<h1>{escape(city)} 大数据专报</h1>
<div class="sub">Daily big-data report · {day} · 生成于 generated {generated} UTC</div>
<div class="kpis">
 <div class="kpi">接入系统 Systems<b id="kpi-systems">{_n(figures.systems_connected)}</b></div>
 <div class="kpi">汇聚记录 Records<b id="kpi-records">{_n(figures.records_aggregated)}</b></div>
 <div class="kpi">当日新发现 New findings<b id="kpi-findings">{_n(figures.findings_new)}</b></div>
 <div class="kpi">当日立案 Cases opened<b id="kpi-opened">{_n(figures.cases_opened)}</b></div>
 <div class="kpi">超期 Overdue<b id="kpi-overdue">{_n(figures.cases_overdue)}</b></div>
</div>
<h2>一、数据健康 Data health</h2>
<p>数据集 {_n(figures.datasets)} 个 / datasets。</p>
<table><tr><th>系统 System</th><th>已入库 Landed</th><th>隔离 Quarantined</th>
<th>最近一次 Last load</th><th>最近成功 Last success</th></tr>{systems}</table>
<h2>二、专题发现 Topic findings</h2>
{topics}
{_air(figures.air, air_no)}
{_epidemic(figures.epidemic, epidemic_no)}
<h2>{cases_no}、案件办理 Cases by department</h2>
<p class="sub">当日立案、办结按北京时间当日计；超期未办为当日24时的状态（其后办结的仍计入）；
“当日发现立案”为就当日（月度专题为当月）发现所立案件，不论何时立案。 Opened and closed: during the
day (Beijing time); overdue: as it stood at the day's end; for the day's findings: cases on the
day's (a monthly topic's: the month's) findings, whenever opened.</p>
<table><tr><th>部门 Department</th><th>当日立案 Opened</th><th>当日办结 Closed</th>
<th>超期未办 Overdue</th><th>当日发现立案 For the day's findings</th></tr>{cases}
<tr><th>合计 Total</th><th class="n" id="cases-opened">{_n(figures.cases_opened)}</th>
<th class="n">{_n(figures.cases_closed)}</th>
<th class="n">{_n(figures.cases_overdue)}</th>
<th class="n" id="cases-for-day">{_n(figures.cases_for_day)}</th></tr></table>
</body></html>
"""
