"""The on-site check sheet (现场核查单) of a case: one A4 page a clerk takes to the door.

The sheet is HTML printed to PDF by headless Chromium (``citybrain.report.daily.print_pdf``, the
daily report's printer), so the Chinese text is set in the installed Noto CJK fonts and embedded.
It names the place in words (as the caller's role may see it), what to check, the evidence in
brief, and leaves room for the findings, the result and a signature.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from citybrain.report.daily import print_pdf

# What to look at on site, per topic; every sheet also checks each reason the evidence gives.
WHAT_TO_CHECK: dict[str, tuple[str, ...]] = {
    "group_rental": (
        "实际居住人数，与登记人口（户籍、居住证）对照 / who lives there against who is registered",
        "是否有隔断、加装床位（上下铺）或改变房屋结构 / partitions, extra beds, altered layout",
        "居住证办理、注销的人员是否仍在住 / whether permit holders still live there",
        "向物业或邻居了解人员进出、外卖快递情况 / ask the estate office or neighbours",
        "消防通道、燃气和用电安全 / fire exits, gas and electrical safety",
    ),
}
GENERIC_CHECKS = (
    "核实线索所述情况是否属实 / whether what the lead says is so",
    "拍摄现场照片（门口、现场全貌） / photos of the door and the scene",
)

STYLE = """
@page { size: A4; margin: 14mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif;
       color: #111; font-size: 10.5pt; margin: 0; }
h1 { font-size: 18pt; margin: 0 0 2pt; }
.sub { color: #444; font-size: 9pt; margin: 0 0 8pt; }
h2 { font-size: 12pt; margin: 10pt 0 4pt; border-bottom: 1.5px solid #111; padding-bottom: 1pt; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #888; padding: 3pt 5pt; text-align: left; vertical-align: top; }
th { background: #eee; width: 22%; font-weight: 600; }
.address { font-size: 13pt; font-weight: 700; }
ul { margin: 2pt 0; padding-left: 16pt; }
li { margin: 1.5pt 0; }
.box { display: inline-block; width: 10pt; height: 10pt; border: 1px solid #111;
       vertical-align: -1pt; margin: 0 3pt 0 10pt; }
.lines div { border-bottom: 1px solid #888; height: 20pt; }
.sign td { height: 30pt; }
.hint { color: #555; font-size: 8.5pt; }
"""


@dataclass(frozen=True)
class SheetFacts:
    """What the sheet says, already in words and masked for the caller."""

    case_id: int
    title: str
    topic_title: str
    address: str | None
    areas: str
    subject_id: str
    period: str
    level_zh: str
    score: float
    department: str | None
    deadline: str | None
    reasons: Sequence[dict[str, Any]]  # the latest evidence's reasons (text_zh / text_en)
    earlier: Sequence[str]  # earlier cases at the same place, one line each
    topic: str = ""


def _e(value: object) -> str:
    return escape("—" if value is None or value == "" else str(value))


def checks(topic: str, reasons: Sequence[dict[str, Any]]) -> list[str]:
    """The topic's own checks, then one per reason of the evidence, then the generic ones."""
    items = list(WHAT_TO_CHECK.get(topic, ()))
    items += [f"核实：{r['text_zh']}" for r in reasons if r.get("text_zh")]
    return items + list(GENERIC_CHECKS)


def render_sheet(facts: SheetFacts, city: str, printed_at: datetime, printed_by: str) -> str:
    """The sheet as one self-contained HTML page (no script, no outside resource)."""
    rows = [
        ("地址 Address", f'<span class="address">{_e(facts.address or "地址未知")}</span>'),
        ("所属区域 Areas", _e(facts.areas)),
        ("专题 Topic", f"{_e(facts.topic_title)} <span class='hint'>({_e(facts.topic)})</span>"),
        ("线索 Lead", f"{_e(facts.title)} <span class='hint'>({_e(facts.subject_id)})</span>"),
        ("时段 / 等级 Period, level", f"{_e(facts.period)} · {_e(facts.level_zh)} · "
                                      f"{facts.score:.2f}"),
        ("承办部门 Department", _e(facts.department)),
        ("办理时限 Deadline", _e(facts.deadline)),
    ]  # fmt: skip
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    evidence = "".join(
        f"<li>{_e(r.get('text_zh'))} <span class='hint'>{_e(r.get('text_en'))}</span></li>"
        for r in facts.reasons
    )
    earlier = "".join(f"<li>{_e(line)}</li>" for line in facts.earlier) or "<li>无 / none</li>"
    todo = "".join(f"<li>{_e(item)}</li>" for item in checks(facts.topic, facts.reasons))
    lines = "<div></div>" * 6
    results = "".join(f'<span class="box"></span>{w}' for w in ("属实", "不属实", "无法入户"))
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>现场核查单 #{facts.case_id}</title><style>{STYLE}</style></head>
<body>
<h1>现场核查单 <span class="hint">On-site check sheet</span></h1>
<p class="sub">{_e(city)} · 案件 #{facts.case_id} · 打印 {_e(printed_at.strftime("%Y-%m-%d %H:%M"))}
 · {_e(printed_by)}</p>
<table>{table}</table>
<h2>核查事项 What to check</h2><ul>{todo}</ul>
<h2>证据摘要 Evidence</h2><ul>{evidence or "<li>—</li>"}</ul>
<h2>此处以往案件 Earlier cases here</h2><ul>{earlier}</ul>
<h2>核查结果 Result</h2><p>{results}</p>
<h2>现场情况 Findings on site</h2><div class="lines">{lines}</div>
<table class="sign"><tr><th>核查人签名 Checked by</th><td></td><th>日期 Date</th><td></td></tr>
<tr><th>在场人签名 Present</th><td></td><th>联系电话 Phone</th><td></td></tr></table>
</body></html>
"""


def print_sheet(html: str) -> bytes:
    """The sheet printed to PDF (A4) by headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="citybrain-sheet-") as folder:
        source, target = Path(folder) / "sheet.html", Path(folder) / "sheet.pdf"
        source.write_text(html, encoding="utf-8")
        print_pdf(source, target)
        return target.read_bytes()


SheetPrinter = Callable[[str], bytes]


async def get_sheet_printer() -> SheetPrinter:
    """What prints a sheet's HTML to PDF (a test swaps it with ``dependency_overrides``)."""
    return print_sheet
