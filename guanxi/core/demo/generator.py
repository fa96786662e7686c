"""Deterministic, realistic Chinese demo data.

The same seed always yields the same names, so the demo, the tests and the benchmarks (up to a
million customers) can all be reproduced. Generators are lazy: a benchmark can stream a million
rows without holding them in memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

# Common surnames weighted roughly by frequency (top of the national list).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
    "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱"
    "严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "慕容")
GIVEN_CHARACTERS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉宇浩凯健俊帆帅旭宁婷"
    "雪琳晨欣怡子涵梓轩雨泽一诺思远嘉怡佳琪文博"
)

# (province, cities) — a slice of the national table, enough for believable addresses.
REGIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("北京市", ("北京",)),
    ("上海市", ("上海",)),
    ("天津市", ("天津",)),
    ("重庆市", ("重庆",)),
    ("广东省", ("广州", "深圳", "东莞", "佛山", "珠海")),
    ("江苏省", ("南京", "苏州", "无锡", "常州", "南通")),
    ("浙江省", ("杭州", "宁波", "温州", "嘉兴", "绍兴")),
    ("山东省", ("济南", "青岛", "烟台", "潍坊")),
    ("四川省", ("成都", "绵阳", "德阳")),
    ("湖北省", ("武汉", "宜昌", "襄阳")),
    ("河南省", ("郑州", "洛阳")),
    ("福建省", ("福州", "厦门", "泉州")),
    ("湖南省", ("长沙", "株洲")),
    ("安徽省", ("合肥", "芜湖")),
    ("陕西省", ("西安",)),
    ("辽宁省", ("沈阳", "大连")),
)

# Sections of the national industry classification (GB/T 4754) most CRM customers fall into.
INDUSTRIES = (
    "制造业",
    "信息传输、软件和信息技术服务业",
    "批发和零售业",
    "建筑业",
    "交通运输、仓储和邮政业",
    "金融业",
    "科学研究和技术服务业",
    "卫生和社会工作",
    "教育",
    "租赁和商务服务业",
    "电力、热力、燃气及水生产和供应业",
    "公共管理、社会保障和社会组织",
)

# Compact tables, one screenful each.
# fmt: off
NAME_STEMS = (
    "华", "中", "东", "恒", "金", "新", "天", "宏", "伟", "信", "达", "鼎", "盛", "嘉", "瑞", "泰",
    "安", "博", "远", "通", "科", "创", "智", "联", "海", "德", "荣", "丰", "隆", "星", "光", "明",
)
BUSINESS_WORDS = (
    "科技", "信息技术", "电子", "机械", "精密制造", "新材料", "医疗器械",
    "物流", "供应链", "贸易", "软件", "网络", "能源", "环保",
    "建设工程", "食品", "生物医药", "汽车零部件", "智能装备", "文化传媒",
)
LEGAL_FORMS = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "集团有限公司")
GOVERNMENT_BODIES = (
    "人民医院", "第一中学", "市场监督管理局", "公共资源交易中心", "交通运输局", "教育局",
    "疾病预防控制中心",
)
# Mobile number prefixes of the three carriers (a common subset).
MOBILE_PREFIXES = (
    "130", "131", "132", "135", "136", "137", "138", "139",
    "150", "151", "158", "159", "177", "186", "188", "199",
)
# fmt: on


@dataclass(frozen=True)
class Person:
    name: str
    phone: str
    email_local: str


@dataclass(frozen=True)
class Company:
    name: str
    short_name: str
    province: str
    city: str
    industry: str
    kind: str  # "company" | "government"


class DemoGenerator:
    def __init__(self, seed: int = 20261122) -> None:
        self.random = random.Random(seed)

    def person_name(self) -> str:
        r = self.random
        surname = r.choice(COMPOUND_SURNAMES) if r.random() < 0.02 else r.choice(SURNAMES)
        given = "".join(r.choice(GIVEN_CHARACTERS) for _ in range(1 if r.random() < 0.3 else 2))
        return surname + given

    def mobile(self) -> str:
        r = self.random
        prefix = r.choice(MOBILE_PREFIXES)
        return prefix + "".join(str(r.randrange(10)) for _ in range(8))

    def person(self) -> Person:
        name = self.person_name()
        return Person(
            name=name, phone=self.mobile(), email_local=f"user{self.random.randrange(10**6):06d}"
        )

    def company(self) -> Company:
        r = self.random
        province, cities = r.choice(REGIONS)
        city = r.choice(cities)
        if r.random() < 0.08:
            body = r.choice(GOVERNMENT_BODIES)
            return Company(
                name=f"{city}市{body}",
                short_name=body,
                province=province,
                city=city,
                industry="公共管理、社会保障和社会组织",
                kind="government",
            )
        stem = r.choice(NAME_STEMS) + r.choice(NAME_STEMS)
        business = r.choice(BUSINESS_WORDS)
        legal = r.choice(LEGAL_FORMS)
        name = (
            f"{city}{stem}{business}{legal}"
            if r.random() < 0.6
            else f"{stem}{business}（{city}）{legal}"
        )
        return Company(
            name=name,
            short_name=stem + business,
            province=province,
            city=city,
            industry=r.choice(INDUSTRIES),
            kind="company",
        )

    def companies(self, count: int) -> Iterator[Company]:
        for _ in range(count):
            yield self.company()

    def people(self, count: int) -> Iterator[Person]:
        for _ in range(count):
            yield self.person()

    @classmethod
    def for_stream(cls, seed: int, stream: str) -> DemoGenerator:
        """An independent generator for one part of the data set (``"customers"``, say), so that
        changing how much another part draws never shifts this part's names."""
        generator = cls(seed)
        generator.random = random.Random(f"{seed}:{stream}")
        return generator
