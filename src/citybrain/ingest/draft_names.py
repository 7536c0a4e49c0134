"""How departments name columns, for ``source new``'s proposed mapping.

Names are compared after :func:`normalise_name` (lower case, no spaces, punctuation or units in
brackets). A standard column is matched by its own name, its Chinese name (``stdmodel``) and the
aliases here: English, Chinese, and the pinyin initials Chinese systems use for field names
(``sfzh`` 身份证号, ``hphm`` 号牌号码, ``tyshxydm`` 统一社会信用代码).
"""

from __future__ import annotations

import re

ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "姓名", "mc", "xm", "qymc", "企业名称", "单位名称", "company",
             "company_name", "enterprise_name", "org_name"),
    "id_number": ("id_number", "idcard", "id_card", "身份证", "身份证号", "身份证号码", "sfzh",
                  "sfzhm", "zjhm", "证件号码", "公民身份号码"),
    "phone": ("phone", "tel", "telephone", "mobile", "手机", "手机号", "电话", "联系电话", "lxdh",
              "sjhm", "contact_phone"),
    "address": ("address", "addr", "地址", "住址", "dz", "zcdz", "注册地址", "jydz", "经营地址",
                "住所", "registered_address"),
    "uscc": ("uscc", "tyshxydm", "统一社会信用代码", "信用代码", "credit_code", "shxydm",
             "social_credit_code", "nsrsbh", "纳税人识别号"),
    "plate": ("plate", "plate_no", "plate_number", "license_plate", "车牌", "车牌号", "车牌号码",
              "hphm", "号牌号码", "cph", "vehicle_no", "carno", "car_no"),
    "ts": ("ts", "time", "timestamp", "datetime", "gps_time", "gpstime", "定位时间", "时间",
           "上报时间", "dwsj", "sj", "loc_time", "report_time", "event_time"),
    "observed_at": ("observed_at", "ts", "time", "datetime", "timestamp", "监测时间", "时间",
                    "jcsj", "date_time", "sample_time", "observation_time"),
    "lon": ("lon", "lng", "long", "longitude", "经度", "jd", "x", "gps_lon", "gpslon"),
    "lat": ("lat", "latitude", "纬度", "wd", "y", "gps_lat", "gpslat"),
    "speed": ("speed", "速度", "sd", "velocity", "gps_speed"),
    "heading": ("heading", "direction", "方向", "fx", "course", "bearing", "angle"),
    "sensor_id": ("sensor_id", "station", "station_id", "站点", "站点编号", "监测点", "zdbh",
                  "device_id", "device", "site", "station_code", "stationcode"),
    "message_id": ("message_id", "msg_id", "no", "record_no", "序号", "xh", "id"),
    "ping_id": ("ping_id", "id", "record_id", "序号", "xh", "no"),
    "pm25": ("pm25", "pm2_5", "pm2.5", "细颗粒物"),
    "pm10": ("pm10", "可吸入颗粒物"),
    "no2": ("no2", "二氧化氮"),
    "so2": ("so2", "二氧化硫"),
    "o3": ("o3", "臭氧"),
    "co": ("co", "一氧化碳"),
    "registration_id": ("registration_id", "序号", "xh", "id", "no"),
    "legal_rep_name": ("legal_rep", "legal_person", "legal_representative", "法定代表人", "法人",
                  "fddbr", "fr"),
    "established_date": ("established", "成立日期", "clrq", "establish_date", "found_date",
                    "registration_date", "注册日期"),
    "registered_capital": ("registered_capital", "注册资本", "zczb", "capital"),
    "industry_code": ("industry", "行业", "所属行业", "hy", "industry_code", "行业代码"),
    "status": ("status", "状态", "zt", "登记状态", "经营状态", "djzt"),
}  # fmt: skip

NULL_MARKERS = ("", "NA", "N/A", "n/a", "na", "NaN", "nan", "NULL", "null", "Null", "None",
                "none", "-", "--", "—", "/", "\\N", "#N/A", "无", "暂无", "空", "不详")  # fmt: skip

TIME_PART_NAMES: dict[str, frozenset[str]] = {
    "year": frozenset({"year", "yr", "年", "年份", "nian", "n", "yyyy"}),
    "month": frozenset({"month", "mon", "月", "月份", "yue", "mm"}),
    "day": frozenset({"day", "日", "日期", "ri", "dd"}),
    "hour": frozenset({"hour", "hr", "时", "小时", "shi", "hh"}),
    "minute": frozenset({"minute", "min", "分", "分钟"}),
    "second": frozenset({"second", "sec", "秒"}),
}

_BRACKETS = re.compile(r"[(（\[【].*?[)）\]】]")
_PUNCTUATION = re.compile(r"[\s_\-./:：,，、·]+")


def normalise_name(name: str) -> str:
    """``PM2.5 (μg/m³)`` → ``pm25``; ``GPS_Time`` → ``gpstime``; ``企业名称`` stays."""
    return _PUNCTUATION.sub("", _BRACKETS.sub("", name)).lower()
