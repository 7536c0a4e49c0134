"""德清县 (浙江省湖州市): the second synthetic district — another province's real divisions, towns
with villages (村/组 addresses), its own road and estate names, and department systems that hand
their data over with other column names, code lists, file formats and encodings.

``citybrain sim --profile deqing`` generates it; its data office's source contracts are in
``contracts/`` (copied into the city's ``contracts/`` folder, paths relative to the city).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.enterprises import INDUSTRIES
from citybrain.sim.profiles.base import Profile
from citybrain.sim.profiles.deqing import places
from citybrain.sim.profiles.deqing.geography import RURAL_HOUSE, reshape, rural_texts
from citybrain.sim.profiles.reexport import Export

CONTRACTS = Path(__file__).parent / "contracts"

# what the default exports say of Chengdu, said of 德清县 (order matters: longest first)
TEXTS: tuple[tuple[str, str], ...] = (
    ("四川省", places.PROVINCE),
    ("成都市", places.CITY),
    ("示例高新区", places.DISTRICT),
    ("高新区", places.DISTRICT),
    ("四川", "浙江"),
    ("成都", "湖州"),
    ("）川", "）浙"),  # a court case number's province: （2023）川0191执… → （2023）浙0521执…
    ("川0191", "浙0521"),
)

VILLAGE_GROUP = r"^.+?村(\d+组)$"  # 句城村1组 → 1组: the register keeps the group as the road


def _compact_period(column: str):  # type: ignore[no-untyped-def]
    def run(table: pa.Table) -> pa.Table:
        i = table.schema.get_field_index(column)
        return table.set_column(i, column, pc.replace_substring(table.column(i), "-", ""))

    return run


def _yuan(*columns: str):  # type: ignore[no-untyped-def]
    """万元 → 元 (the tax bureau here reports in yuan)."""

    def run(table: pa.Table) -> pa.Table:
        for column in columns:
            i = table.schema.get_field_index(column)
            value = pc.round(pc.multiply(pc.cast(table.column(i), pa.float64()), 10_000.0), 2)
            table = table.set_column(i, column, value)
        return table

    return run


def _register(road: str, estate: str | None = None):  # type: ignore[no-untyped-def]
    """Village houses as the register keeps them: road 2组 (not 句城村2组), no estate."""

    def run(table: pa.Table) -> pa.Table:
        i = table.schema.get_field_index(road)
        table = table.set_column(
            i, road, pc.replace_substring_regex(table.column(i), VILLAGE_GROUP, r"\1")
        )
        if estate is not None:
            j = table.schema.get_field_index(estate)
            col = table.column(j)
            house = pc.match_substring_regex(col, RURAL_HOUSE)
            table = table.set_column(
                j, estate, pc.if_else(house, pa.scalar(None, pa.string()), col)
            )
        return table

    return run


GENDER_1_2 = {"男": "1", "女": "2"}
EXPORTS: tuple[Export, ...] = (
    Export(
        "water_utility", "water_utility/YS_*.csv", "csv", "{stem}.csv", "csv",
        {"LSH": "流水号", "HH": "用户号", "HM": "用户名", "LXDH": "手机号码", "YSDZ": "用水地址",
         "ZQ": "抄表年月", "CBRQ": "抄表日期", "SYDS": "上期示数", "BYDS": "本期示数",
         "YSL": "用水量", "YSL_M3": "用水量(立方米)"},
        target_encoding="gbk", stem_from="YS_", stem_to="用水抄表_",
        transform=_compact_period("抄表年月"),
    ),
    Export(
        "power_grid", "power_grid/consumption_*.parquet", "parquet", "{stem}.jsonl", "jsonl",
        {"record_id": "id", "cons_no": "hh", "cons_name": "hm", "mobile": "sjhm",
         "elec_addr": "yddz", "ym": "ny", "read_date": "cbrq", "last_read": "sqss",
         "this_read": "bqss", "kwh": "ydl"},
        stem_from="consumption_", stem_to="dl_",
    ),
    Export(
        "gas_utility", "gas_utility/用气量_*.csv", "csv", "燃气抄表_{stem}.xlsx", "xlsx",
        {"流水号": "抄表流水", "用户编号": "户号", "用户名称": "户名", "证件号码": "身份证号",
         "用气地址": "地址", "账期": "月份", "抄表日期": "抄表时间", "上次读数": "上月读数",
         "本次读数": "本月读数", "用气量(立方米)": "气量"},
        encoding="gbk", sheet="抄表数据", title="德清县天然气用户抄表明细",
        stem_from="用气量_", stem_to="",
    ),
    Export(
        "food_delivery_platform", "food_delivery_platform/orders_*.jsonl", "jsonl",
        "{stem}.csv", "csv",
        {"stat_id": "统计编号", "stat_month": "月份", "city_name": "城市",
         "recv_address": "收货地址", "lng": "经度", "lat": "纬度", "order_cnt": "订单数",
         "phone_cnt": "手机号数"},
        stem_from="orders_", stem_to="外卖订单统计_",
    ),
    Export(
        "parcel_express", "parcel_express/express_*.csv", "csv", "{stem}.jsonl", "jsonl",
        {"统计ID": "id", "统计月份": "month", "快递公司": "company", "收件人": "receiver",
         "收件电话": "receiver_tel", "收件地址": "receiver_addr", "件数": "pieces"},
        delimiter="|", stem_from="express_", stem_to="parcel_",
    ),
    Export(
        "hotline_12345", "hotline_12345/12345工单_*.xlsx", "xlsx", "{stem}.csv", "csv",
        {"工单编号": "受理编号", "来电时间": "受理时间", "诉求类别": "问题分类",
         "诉求内容": "问题描述", "事发地址": "发生地址", "来电人": "诉求人",
         "联系电话": "电话", "所属街道": "所在镇街"},
        target_encoding="gbk", stem_from="12345工单_", stem_to="民呼我为工单_",
        codes={"问题分类": {
            "群租": "A0301", "违规隔断": "A0302", "消防隐患": "A0401", "噪音扰民": "B0101",
            "路灯故障": "C0201", "垃圾清运": "C0301", "占道经营": "C0401", "物业服务": "A0101",
            "停车管理": "C0501", "施工噪音": "B0102", "餐饮油烟": "B0201"}},
    ),
    Export(
        "police_household", "police_household/户籍人口.csv", "csv", "户籍人口.xlsx", "xlsx",
        {"记录号": "JLH", "户号": "HH", "姓名": "XM", "性别": "XB", "民族": "MZ",
         "出生日期": "CSRQ", "公民身份号码": "SFZH", "与户主关系": "YHZGX", "户籍地址": "HJDZ",
         "迁入日期": "QRRQ", "联系电话": "LXDH"},
        encoding="gb18030", sheet="RK_HJ", codes={"XB": GENDER_1_2},
    ),
    Export(
        "police_residence_permit", "police_residence_permit/police.db", "sqlite",
        "居住证.csv", "csv",
        {"JZZBH": "居住证号", "XM": "姓名", "XB": "性别", "ZJHM": "身份证号",
         "JZDZ": "居住地址", "QFRQ": "发证日期", "YXQZ": "有效期限", "ZXRQ": "注销日期",
         "ZT": "证件状态", "LXDH": "手机"},
        target_encoding="gbk",
        codes={"性别": {"1": "男", "2": "女"},
               "证件状态": {"有效": "0", "注销": "1", "过期": "2"}},
    ),
    Export(
        "place_address_register", "place_address_register/admin_area.csv", "csv",
        "行政区划.jsonl", "jsonl",
        {"level": "级别", "code": "区划代码", "name": "名称", "parent_code": "上级代码",
         "wkt": "边界"},
        codes={"级别": {"street": "镇街", "community": "村社区", "grid": "网格"}},
    ),
    Export(
        "place_address_register", "place_address_register/road.csv", "csv", "道路.csv", "csv",
        {"road_id": "道路编码", "road_name": "道路名称", "direction": "走向", "wkt": "中心线"},
        target_encoding="gbk", transform=_register("道路名称"),
    ),
    Export(
        "place_address_register", "place_address_register/road_alias.csv", "csv",
        "道路曾用名.csv", "csv",
        {"road_id": "道路编码", "road_name": "道路名称", "old_name": "曾用名",
         "renamed_year": "更名年份"},
        target_encoding="gbk",
    ),
    Export(
        "place_address_register", "place_address_register/standard_address.parquet",
        "parquet", "bzdz.parquet", "parquet",
        {"address_id": "dzbm", "level": "dzjb", "parent_id": "sjdzbm", "full_address": "bzdz",
         "road_name": "jlxmc", "road_no": "mph", "estate_name": "xqmc", "building_no": "lh",
         "unit_no": "dyh", "floor_no": "lc", "room_no": "sh", "lon": "jd", "lat": "wd",
         "grid_code": "wgbm", "area_m2": "jzmj", "use": "yt"},
        codes={"dzjb": {"road_number": "10", "building": "20", "unit": "30", "dwelling": "40"},
               "yt": {"residential": "住宅", "office": "办公", "commercial": "商业"}},
        transform=_register("jlxmc", "xqmc"),
    ),
    Export(
        "market_registry", "market_registry/企业登记信息.csv", "csv", "市场主体登记.xlsx", "xlsx",
        {"登记序号": "reg_no", "统一社会信用代码": "credit_code", "企业名称": "ent_name",
         "市场主体类型": "ent_type", "法定代表人": "legal_person",
         "法定代表人证件号码": "legal_person_cert", "成立日期": "est_date",
         "注册资本(万元)": "reg_cap", "行业代码": "industry", "行业门类": "industry_section",
         "住所": "dom", "登记状态": "reg_state", "登记机关": "reg_org"},
        encoding="gb18030", sheet="市场主体", title="德清县市场主体登记信息",
        codes={"reg_state": {"存续": "1", "吊销": "2", "注销": "3", "迁出": "4"},
               # GB/T 4754 without its section letter: I6513 → 6513
               "industry": {code: code[1:] for code, _, _ in INDUSTRIES}},
    ),
    Export(
        "tax_declarations", "tax_declarations/sb_*.parquet", "parquet", "{stem}.csv", "csv",
        {"SBXH": "申报序号", "NSRSBH": "纳税人识别号", "NSRMC": "纳税人名称", "SSQ": "所属期",
         "YYSR": "营业收入(元)", "YNSE": "应纳税额(元)", "SBRQ": "申报日期"},
        target_encoding="gbk", stem_from="sb_", stem_to="纳税申报_",
        transform=_yuan("营业收入(元)", "应纳税额(元)"),
    ),
    Export(
        "social_security", "social_security/参保单位_*.csv", "csv", "{stem}.jsonl", "jsonl",
        {"流水号": "lsh", "单位编号": "dwbh", "单位名称": "dwmc", "统一社会信用代码": "tyshxydm",
         "费款所属期": "fkssq", "参保人数": "cbrs", "在职参保人数": "zzcbrs",
         "退休参保人数": "txcbrs", "缴费基数合计": "jfjshj"},
        encoding="utf-8-sig", stem_from="参保单位_", stem_to="sb_",
    ),
    Export(
        "court_dishonest", "court_dishonest/*.jsonl", "jsonl", "失信被执行人.csv", "csv",
        {"case_code": "案号", "iname": "被执行人姓名/名称", "type": "主体类型",
         "cardnum": "证件号码", "court_name": "执行法院", "area_name": "省份",
         "duty": "生效法律文书确定的义务", "performance": "履行情况",
         "disrupt_type_name": "失信行为具体情形", "reg_date": "立案时间",
         "publish_date": "发布时间"},
        target_encoding="gbk", codes={"主体类型": {"自然人": "1", "法人或其他组织": "2"}},
    ),
    Export(
        "admin_penalties", "admin_penalties/*.xlsx", "xlsx", "xzcf.jsonl", "jsonl",
        {"决定书文号": "cf_wsh", "相对人名称": "cf_xdr_mc", "统一社会信用代码": "cf_xdr_shxym",
         "法定代表人": "cf_frdb", "违法行为类型": "cf_wfxw", "处罚种类": "cf_cflb",
         "罚没金额(万元)": "cf_fk", "处罚决定日期": "cf_jdrq", "处罚机关": "cf_cfjg"},
    ),
    Export(
        "credit_commitments", "credit_commitments/信用承诺.csv", "csv", "信用承诺.xlsx", "xlsx",
        {"承诺编号": "承诺书编号", "承诺主体名称": "主体名称", "统一社会信用代码": "社会信用代码",
         "承诺类型": "承诺类别", "承诺事项": "承诺内容", "承诺日期": "签署日期",
         "核查结果": "履约状态"},
        encoding="gb18030", sheet="承诺履约", title="德清县信用承诺履约台账",
        codes={"履约状态": {"待核查": "0", "已履约": "1", "未履约": "2"}},
    ),
)  # fmt: skip

SYSTEMS = tuple(dict.fromkeys(e.system for e in EXPORTS))

PROFILE = Profile(
    name="deqing",
    zone=f"{places.PROVINCE}{places.CITY}{places.DISTRICT}",
    description="浙江省湖州市德清县: real towns and villages, 村/组 addresses, other schemas",
    systems=SYSTEMS,
    exports=EXPORTS,
    texts=TEXTS,
    contracts=CONTRACTS,
    reshape_fn=reshape,
    texts_fn=rural_texts,
)
