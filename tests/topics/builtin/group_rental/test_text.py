"""The complaint classifier: char n-grams on distinct texts, weak labels from the categories."""

import pyarrow as pa

from citybrain.topics.builtin.group_rental.text import classify_texts, weak_labels

CROWDING = [
    ("疑似群租，一套房住了十几个人，进出人员复杂，请相关部门核查。", "群租"),
    ("每天很多陌生人进出，像是群租房，电梯非常拥挤。", "群租"),
    ("楼下房屋被隔成七八个小间出租，存在安全隐患。", "违规隔断"),
    ("房东把客厅隔断成多个房间出租，住了很多人。", "违规隔断"),
    ("出租屋内电动车充电，人员密集，消防隐患严重。", "消防隐患"),
]
OTHER = [
    ("反映小区周边乱停车严重，消防通道被占用。", "停车管理"),
    ("物业服务差，电梯经常故障无人维修。", "物业服务"),
    ("路灯不亮，晚上出行不便。", "路灯故障"),
    ("餐馆油烟直排，影响居民生活。", "餐饮油烟"),
    ("垃圾清运不及时，气味难闻。", "垃圾清运"),
    ("工地夜间施工噪音很大。", "施工噪音"),
    ("占道经营，影响通行。", "占道经营"),
]


def test_weak_labels_from_categories() -> None:
    assert weak_labels(["群租", "物业服务", "噪音扰民", None]).tolist() == [1, 0, -1, -1]


ESTATES = ("滨江锦苑", "雅居乐天悦", "翡翠名城", "蓝光尚城", "首创和鸣")


def _tickets(templates: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each template as the hotline writes it for several estates (distinct texts)."""
    return [
        (f"{estate}{n % 5 + 1}栋：{text}", category)
        for n, estate in enumerate(ESTATES)
        for text, category in templates
    ]


def test_classifier_separates_crowding_from_other_complaints() -> None:
    # a crowding complaint filed under a wrong category still counts as crowding
    misfiled = ("翡翠名城3栋：隔壁一套房隔成很多小间，住了十几个人，进出人员复杂。", "物业服务")
    rows = [*_tickets(CROWDING), *_tickets(OTHER), misfiled, ("楼上群租，夜里吵闹。", "噪音扰民")]
    table = pa.table({"text": [t for t, _ in rows], "category": [c for _, c in rows]})
    result = classify_texts(table)
    assert result.num_rows == len({t for t, _ in rows})  # distinct texts
    texts = result.column("text").to_pylist()
    flag = dict(zip(texts, result.column("crowding").to_pylist(), strict=True))
    assert all(flag[t] for t, _ in _tickets(CROWDING))
    assert not any(flag[t] for t, _ in _tickets(OTHER))
    assert flag[misfiled[0]]
    assert flag["楼上群租，夜里吵闹。"]  # an ambiguous category is judged by its words
