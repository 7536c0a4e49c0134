"""The standard model: the tables of the ``std`` zone that every department system maps onto.

A source contract names its target table (``standard:``) and maps delivered columns onto that
table's columns. Standardisation then validates each column by its *role* (a resident ID number is
checked as one, an address is matched to the address base …) and sets flags instead of dropping
rows. Topics declare their inputs in these names. The code is the reference; DESIGN.md sketches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "int64", "float64", "bool", "date", "timestamp"]
Role = Literal[
    "record_key",  # the source's own row identifier
    "id_number",  # resident identity number, GB 11643
    "uscc",  # unified social credit code, GB 32100
    "person_name",
    "org_name",
    "phone",
    "address",  # free-text address, matched to the address base
    "lon",
    "lat",
    "period",  # a month, "YYYY-MM"
    "event_time",
    "plate",  # vehicle plate number
    "code",  # a value from a code list
    "text",  # free text (complaints, notes)
    "measure",  # a number with a unit
    "geometry",  # WKT
]

# Every std row carries where it came from and what standardisation found wrong with it.
LINEAGE_COLUMNS = ("source_system", "load_id", "source_row")
FLAGS_COLUMN = "quality_flags"


@dataclass(frozen=True)
class StdColumn:
    name: str
    type: ColumnType = "string"
    role: Role | None = None
    zh: str = ""


@dataclass(frozen=True)
class StdTable:
    name: str
    zh: str
    en: str
    subject: str  # what a row is about: person, enterprise, dwelling, vehicle, place, city
    columns: tuple[StdColumn, ...]

    def column(self, name: str) -> StdColumn:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"std.{self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def _c(
    name: str, type_: ColumnType = "string", role: Role | None = None, zh: str = ""
) -> StdColumn:
    return StdColumn(name, type_, role, zh)


_PERSON = (
    _c("name", role="person_name", zh="姓名"),
    _c("id_number", role="id_number", zh="公民身份号码"),
    _c("phone", role="phone", zh="联系电话"),
)

STD_TABLES: dict[str, StdTable] = {
    table.name: table
    for table in (
        StdTable("person_registration", "户籍人口", "household registration", "person", (
            _c("record_id", role="record_key", zh="记录号"),
            _c("household_id", zh="户号"),
            *_PERSON,
            _c("gender", role="code", zh="性别"),
            _c("ethnicity", zh="民族"),
            _c("birth_date", "date", zh="出生日期"),
            _c("relation", zh="与户主关系"),
            _c("address", role="address", zh="户籍地址"),
            _c("moved_in_date", "date", zh="迁入日期"),
        )),
        StdTable("residence_permit", "居住证", "residence permit", "person", (
            _c("permit_id", role="record_key", zh="居住证编号"),
            *_PERSON,
            _c("gender", role="code", zh="性别"),
            _c("address", role="address", zh="居住地址"),
            _c("issued_date", "date", zh="签发日期"),
            _c("valid_until", "date", zh="有效期至"),
            _c("cancelled_date", "date", zh="注销日期"),
            _c("status", role="code", zh="状态"),
        )),
        StdTable("utility_reading", "水电气抄表", "utility reading", "dwelling", (
            _c("reading_id", role="record_key", zh="流水号"),
            _c("utility", role="code", zh="类别"),  # water | electricity | gas
            _c("account_id", zh="户号"),
            _c("holder_name", role="person_name", zh="户名"),
            # the holder's own contact details from the real-name customer file (often blank
            # for accounts opened before real-name rules)
            _c("holder_phone", role="phone", zh="联系电话"),
            _c("holder_id_number", role="id_number", zh="证件号码"),
            _c("address", role="address", zh="用户地址"),
            _c("period", role="period", zh="账期"),
            _c("read_date", "date", zh="抄表日期"),
            _c("previous_reading", "float64", role="measure", zh="上次读数"),
            _c("current_reading", "float64", role="measure", zh="本次读数"),
            _c("usage", "float64", role="measure", zh="用量"),
        )),
        StdTable("delivery", "外卖快递", "deliveries and parcels", "dwelling", (
            _c("stat_id", role="record_key", zh="统计ID"),
            _c("channel", role="code", zh="渠道"),  # food | parcel
            _c("carrier", zh="平台/快递公司"),
            _c("period", role="period", zh="统计月份"),
            _c("recipient_name", role="person_name", zh="收件人"),
            _c("recipient_phone", role="phone", zh="收件电话"),
            _c("address", role="address", zh="收件地址"),
            _c("lon", "float64", role="lon"),
            _c("lat", "float64", role="lat"),
            _c("items", "int64", role="measure", zh="件数/单数"),
            _c("distinct_phones", "int64", role="measure", zh="不同收件电话数"),
        )),
        StdTable("complaint", "12345工单", "hotline complaint", "place", (
            _c("ticket_id", role="record_key", zh="工单编号"),
            _c("received_at", "timestamp", role="event_time", zh="来电时间"),
            _c("category", role="code", zh="诉求类别"),
            _c("text", role="text", zh="诉求内容"),
            _c("address", role="address", zh="事发地址"),
            _c("caller_name", role="person_name", zh="来电人"),
            _c("caller_phone", role="phone", zh="联系电话"),
            _c("street_name", zh="所属街道"),
        )),
        StdTable("enterprise_registration", "企业登记", "enterprise registration", "enterprise", (
            _c("registration_id", role="record_key", zh="登记序号"),
            _c("uscc", role="uscc", zh="统一社会信用代码"),
            _c("name", role="org_name", zh="企业名称"),
            _c("entity_type", role="code", zh="市场主体类型"),
            _c("legal_rep_name", role="person_name", zh="法定代表人"),
            _c("legal_rep_id_number", role="id_number", zh="法定代表人证件号码"),
            _c("established_date", "date", zh="成立日期"),
            _c("registered_capital", "float64", role="measure", zh="注册资本(万元)"),
            _c("industry_code", role="code", zh="行业代码 GB/T 4754"),
            _c("industry_section", role="code", zh="行业门类"),
            _c("address", role="address", zh="住所"),
            _c("status", role="code", zh="登记状态"),
            _c("authority", zh="登记机关"),
        )),
        StdTable("tax_declaration", "纳税申报", "tax declaration", "enterprise", (
            _c("declaration_id", role="record_key", zh="申报序号"),
            _c("uscc", role="uscc", zh="纳税人识别号"),
            _c("name", role="org_name", zh="纳税人名称"),
            _c("period", role="period", zh="所属期"),
            _c("revenue", "float64", role="measure", zh="营业收入(元)"),
            _c("tax_payable", "float64", role="measure", zh="应纳税额(元)"),
            _c("declared_date", "date", zh="申报日期"),
        )),
        StdTable("social_security", "社保参保", "social-security headcount", "enterprise", (
            _c("record_id", role="record_key", zh="流水号"),
            _c("employer_id", zh="单位编号"),
            _c("name", role="org_name", zh="单位名称"),
            _c("uscc", role="uscc", zh="统一社会信用代码"),
            _c("period", role="period", zh="费款所属期"),
            _c("insured", "int64", role="measure", zh="参保人数"),  # 升级后叫在职参保人数
            _c("insured_retired", "int64", role="measure", zh="退休参保人数"),  # since 2023-03
            _c("contribution_base", "float64", role="measure", zh="缴费基数合计(元)"),
        )),
        StdTable("dishonest_judgment", "失信被执行人", "court dishonesty list", "enterprise", (
            _c("case_code", role="record_key", zh="案号"),
            _c("name", zh="被执行人名称"),
            _c("subject_kind", role="code", zh="主体类型"),  # person | enterprise
            _c("identifier", zh="证件号码/统一社会信用代码"),
            _c("court", zh="执行法院"),
            _c("duty", role="text", zh="生效法律文书确定的义务"),
            _c("performance", role="code", zh="履行情况"),
            _c("behaviour", role="code", zh="失信行为"),
            _c("registered_date", "date", zh="立案日期"),
            _c("published_date", "date", zh="发布日期"),
        )),
        StdTable("penalty", "行政处罚", "administrative penalty", "enterprise", (
            _c("decision_no", role="record_key", zh="决定书文号"),
            _c("name", role="org_name", zh="相对人名称"),
            _c("uscc", role="uscc", zh="统一社会信用代码"),
            _c("legal_rep_name", role="person_name", zh="法定代表人"),
            _c("violation", role="code", zh="违法行为类型"),
            _c("penalty_kind", role="code", zh="处罚种类"),
            _c("amount", "float64", role="measure", zh="罚没金额(元)"),
            _c("decided_date", "date", zh="处罚决定日期"),
            _c("authority", zh="处罚机关"),
        )),
        StdTable("commitment", "信用承诺", "credit commitment", "enterprise", (
            _c("commitment_id", role="record_key", zh="承诺编号"),
            _c("name", role="org_name", zh="承诺主体名称"),
            _c("uscc", role="uscc", zh="统一社会信用代码"),
            _c("kind", role="code", zh="承诺类型"),
            _c("content", role="text", zh="承诺事项"),
            _c("committed_date", "date", zh="承诺日期"),
            _c("check_result", role="code", zh="核查结果"),
        )),
        StdTable("utility_arrears", "公用事业欠费催缴", "utility arrears notices", "person", (
            _c("notice_id", role="record_key", zh="通知单号"),
            _c("account_id", zh="户号"),  # the same account number as utility_reading
            _c("holder_name", role="person_name", zh="户名"),
            _c("utility", role="code", zh="费用类别"),  # water | electricity | gas
            _c("months_overdue", "int64", role="measure", zh="欠费月数"),
            _c("amount", "float64", role="measure", zh="欠费金额(元)"),
            _c("paid", role="code", zh="缴费状态"),  # 已缴清 / 未缴清
            _c("notice_date", "date", zh="催缴日期"),
        )),
        StdTable("arrival", "交通到达", "rail and flight arrivals", "person", (
            _c("record_id", role="record_key", zh="记录号"),
            *_PERSON,
            _c("mode", role="code", zh="方式"),
            _c("trip_no", zh="车次/航班"),
            _c("seat", zh="座位"),
            _c("from_city", zh="出发城市"),
            _c("arrival_station", zh="到达站"),
            _c("arrived_at", "timestamp", role="event_time", zh="到达时间"),
        )),
        StdTable("test_record", "检测记录", "medical test record", "person", (
            _c("test_id", role="record_key", zh="检测编号"),
            *_PERSON,
            _c("sampled_at", "timestamp", role="event_time", zh="采样时间"),
            _c("result", role="code", zh="检测结果"),
            _c("lab", zh="检测机构"),
        )),
        StdTable("chronic_care", "慢病管理与家庭医生签约", "chronic care, family doctors",
                 "person", (
            _c("record_id", role="record_key", zh="档案编号"),
            *_PERSON,
            _c("condition", role="code", zh="管理类别"),
            _c("clinic", zh="管理机构"),
            _c("signed_date", "date", zh="签约日期"),
            _c("last_followup_date", "date", zh="末次随访日期"),
        )),
        StdTable("screening", "入户排查", "household screening", "dwelling", (
            _c("record_id", role="record_key", zh="序号"),
            _c("contact_name", role="person_name", zh="户主/联系人"),
            _c("address", role="address", zh="住址"),
            _c("occupants", "int64", role="measure", zh="实住人数"),
            _c("registered_occupants", "int64", role="measure", zh="户籍人数"),
            _c("outsiders", role="code", zh="有无外来人员"),
            _c("screened_date", "date", zh="排查日期"),
            _c("note", role="text", zh="备注"),
            _c("community", zh="社区"),
            _c("round", "int64", zh="轮次"),
        )),
        StdTable("vehicle_ping", "车辆定位", "vehicle GPS ping", "vehicle", (
            _c("ping_id", role="record_key"),
            _c("plate", role="plate", zh="车牌号码"),
            _c("ts", "timestamp", role="event_time", zh="定位时间"),
            _c("lon", "float64", role="lon"),
            _c("lat", "float64", role="lat"),
            _c("speed", "float64", role="measure", zh="速度(km/h)"),
            _c("heading", "float64", role="measure", zh="方向"),
            _c("ignition", "bool", zh="点火"),
            _c("loaded", "bool", zh="重车"),
        )),
        StdTable("transport_permit", "渣土运输核准", "muck transport permit", "vehicle", (
            _c("permit_no", role="record_key", zh="核准证号"),
            _c("plate", role="plate", zh="车牌号码"),
            _c("company", role="org_name", zh="运输企业"),
            _c("uscc", role="uscc", zh="统一社会信用代码"),
            _c("origin_site", zh="出土工地"),
            _c("disposal_site", zh="消纳场所"),
            _c("route", zh="核准线路"),  # WKT line (lon lat): the approved way, site to disposal
            _c("allowed_hours", zh="准运时段"),
            _c("valid_from", "date", zh="有效期起"),
            _c("valid_to", "date", zh="有效期止"),
        )),
        StdTable("site", "工地与消纳场", "construction and disposal site", "place", (
            _c("site_id", role="record_key", zh="工地编号"),
            _c("name", zh="名称"),
            _c("kind", role="code", zh="类型"),
            _c("lon", "float64", role="lon"),
            _c("lat", "float64", role="lat"),
            _c("builder_uscc", role="uscc", zh="建设单位代码"),
        )),
        StdTable("bike_position", "共享单车位置", "shared-bike position", "vehicle", (
            _c("record_id", role="record_key", zh="记录号"),  # newer exports only
            _c("operator", role="code", zh="运营企业"),
            _c("bike_id", zh="车辆编号"),  # the bike, not the row: one per report
            _c("ts", "timestamp", role="event_time", zh="上报时间"),
            _c("lon", "float64", role="lon"),
            _c("lat", "float64", role="lat"),
            _c("status", role="code", zh="状态"),
            _c("battery", "float64", role="measure", zh="电量"),
        )),
        StdTable("bike_zone", "单车停放区", "bike parking zone", "place", (
            _c("zone_id", role="record_key", zh="区域编号"),
            _c("name", zh="区域名称"),
            _c("geometry", role="geometry", zh="范围"),
            _c("quota", "int64", role="measure", zh="总配额"),
            _c("quota_meituan", "int64", role="measure"),
            _c("quota_hellobike", "int64", role="measure"),
            _c("quota_qingju", "int64", role="measure"),
        )),
        StdTable("sensor_reading", "空气质量监测", "air-quality reading", "place", (
            _c("message_id", role="record_key"),
            _c("sensor_id", zh="站点"),
            _c("observed_at", "timestamp", role="event_time", zh="监测时间"),
            _c("pm25", "float64", role="measure"),
            _c("pm10", "float64", role="measure"),
            _c("no2", "float64", role="measure"),
            _c("so2", "float64", role="measure"),
            _c("o3", "float64", role="measure"),
            _c("co", "float64", role="measure"),
        )),
        StdTable("parking_occupancy", "停车场泊位", "parking-lot occupancy", "place", (
            _c("record_id", role="record_key", zh="记录号"),  # newer API versions only
            _c("lot_id", zh="停车场编号"),  # the lot, not the row: one per update
            _c("name", zh="停车场名称"),
            _c("lon", "float64", role="lon"),  # the lot's place (newer API versions only)
            _c("lat", "float64", role="lat"),
            _c("capacity", "int64", role="measure", zh="总泊位"),
            _c("free", "int64", role="measure", zh="空余泊位"),
            _c("updated_at", "timestamp", role="event_time", zh="更新时间"),
        )),
        StdTable("project_progress", "重大项目进度", "major-project progress", "place", (
            _c("report_id", role="record_key", zh="报表编号"),
            _c("project_id", zh="项目编号"),
            _c("name", zh="项目名称"),
            _c("builder", role="org_name", zh="建设单位"),
            _c("total_investment", "float64", role="measure", zh="总投资(亿元)"),
            _c("planned_start", role="period", zh="计划开工"),
            _c("period", role="period", zh="报告期"),
            _c("planned_progress", "float64", role="measure", zh="计划进度(%)"),
            _c("actual_progress", "float64", role="measure", zh="形象进度(%)"),
            _c("invested", "float64", role="measure", zh="累计完成投资(亿元)"),
            _c("milestone", role="code", zh="当前节点"),
            _c("reported_delayed", "bool", zh="是否滞后"),
            _c("planned_completion", "date", zh="计划竣工"),
            _c("milestone_planned", "date", zh="节点计划完成日期"),
            _c("milestone_expected", "date", zh="节点预计完成日期"),
            _c("last_milestone_planned", "date", zh="上一节点计划完成日期"),
            _c("last_milestone_done", "date", zh="上一节点实际完成日期"),
        )),
        StdTable("economic_indicator", "经济指标", "economic indicators", "city", (
            _c("period", role="period", zh="指标期"),
            _c("tax_revenue", "float64", role="measure", zh="税收收入(亿元)"),
            _c("business_revenue", "float64", role="measure", zh="营业收入(亿元)"),
            _c("new_entities", "int64", role="measure", zh="新登记市场主体(户)"),
            _c("insured_employees", "int64", role="measure", zh="参保职工人数(人)"),
            _c("electricity", "float64", role="measure", zh="全社会用电量(万千瓦时)"),
            _c("fixed_investment", "float64", role="measure", zh="固定资产投资(亿元)"),
            _c("retail_sales", "float64", role="measure", zh="社会消费品零售总额(亿元)"),
            _c("industrial_growth", "float64", role="measure", zh="规上工业增加值增速(%)"),
        )),
        # The authoritative place-name and address register (地名地址): the address base's source.
        StdTable("admin_area", "行政区划与网格", "admin areas and grids", "place", (
            _c("level", role="code", zh="层级"),
            _c("code", role="record_key", zh="代码"),
            _c("name", zh="名称"),
            _c("parent_code", zh="上级代码"),
            _c("geometry", role="geometry", zh="范围"),
        )),
        StdTable("road", "道路", "road", "place", (
            _c("road_id", role="record_key"),
            _c("name", zh="道路名称"),
            _c("geometry", role="geometry"),
        )),
        StdTable("road_alias", "道路曾用名", "old road name", "place", (
            _c("road_id", role="record_key"),
            _c("name", zh="现名"),
            _c("old_name", zh="曾用名"),
            _c("renamed_year", "int64", zh="更名年份"),
        )),
        StdTable("standard_address", "标准地址", "standard address", "dwelling", (
            _c("address_id", role="record_key", zh="标准地址编码"),
            _c("level", role="code", zh="层级"),
            _c("parent_id", zh="上级地址编码"),
            _c("full_address", zh="标准地址"),
            _c("road_name", zh="道路"),
            _c("road_no", zh="门牌号"),
            _c("estate_name", zh="小区"),
            _c("building_no", zh="楼栋"),
            _c("unit_no", zh="单元"),
            _c("floor_no", zh="楼层"),
            _c("room_no", zh="户室"),
            _c("lon", "float64", role="lon"),
            _c("lat", "float64", role="lat"),
            _c("grid_code", zh="网格编码"),
            _c("area_m2", "float64", role="measure", zh="建筑面积"),
            _c("use", role="code", zh="用途"),
        )),
    )
}  # fmt: skip


def std_table(name: str) -> StdTable:
    """The standard table called ``name``; a ``KeyError`` lists the known ones."""
    try:
        return STD_TABLES[name]
    except KeyError:
        raise KeyError(f"no standard table {name!r}; known: {', '.join(STD_TABLES)}") from None
