"""The fast search path (residents.search) returns exactly what the plain statement does: the same page,
in the same order, and the same capped count, for every kind of query, scope and page, also when the
cap and the sort limit are small enough that branches are big and walked in their bucket's order."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.residents.conftest import actor_of
from weijian.core.actor import Actor
from weijian.residents import queries as residents_queries
from weijian.residents import search, service
from weijian.residents.models import Resident

NAMES = [
    # 张 and 章 share "zhang"; 连刚 (lian + gang) starts with "liang" like 梁; 曾 and 长 read two ways
    "张三", "张三丰", "张伟", "张伟强", "张伟", "章伟", "章子怡", "赵四", "周杰", "朱丽", "郑爽", "曾国藩",
    "梁朝伟", "梁静", "梁静茹", "连刚", "廉刚强", "李四", "李思", "李思思", "黎明", "刘德华", "林青霞", "吕布",
    "王五", "王伟", "王伟", "汪峰", "万里", "吴彦祖", "欧阳娜娜", "阿依古丽", "长孙无忌", "单田芳",
    "Li Lei", "Zhang Wei", "lily", "·李",
]


@pytest.fixture()
def crowd(session, county):
    """Residents spread over the three villages, with phones, households, a 15-digit number, residents
    without a number, and one merged record."""
    villages = (f.VILLAGE_A1, f.VILLAGE_A2, f.VILLAGE_B1)
    people = []
    for i, name in enumerate(NAMES):
        over = dict(name=name, village_code=villages[i % 3], birth_date=date(1950 + i, 1 + i % 12, 1 + i % 28))
        if i % 4 == 0:
            over["phone"] = "13900001111" if i % 8 == 0 else f"139{i:08d}"
        if i % 5 == 0:
            over.update(household_number=f"H{villages[i % 3]}-{i % 2}", relation_to_head="head" if i < 10 else "other")
        if i % 9 == 0:
            over["id_number"] = None
        people.append(f.make_resident(session, **over))
    people.append(f.make_resident(session, name="王伟", id_number="421124800101001", phone="0713-7012345"))
    twin = f.make_resident(session, name="王伟", village_code=f.VILLAGE_A2)
    service.merge(session=session, survivor_id=people[-1].id, merged_id=twin.id, reason="重复建档",
                  actor=Actor.system("test"), confirm_different_id_numbers=True)
    return people


def reference(session, actor, page: int, page_size: int, **criteria):
    """The search's page and count as one plain statement each (search_statement's definition)."""
    _, conds, order = residents_queries.search_statement(actor=actor, **criteria)
    total = session.scalar(select(func.count()).select_from(
        select(Resident.id).where(*conds).limit(residents_queries.COUNT_CAP + 1).subquery()))
    ids = session.scalars(select(Resident.id).where(*conds).order_by(*order)
                          .offset((page - 1) * page_size).limit(page_size)).all()
    return list(ids), total


def queries(people) -> list[dict]:
    numbered = [p for p in people if p.id_number]
    idn = numbered[3].id_number
    return [
        {}, {"q": ""}, {"q": "张"}, {"q": "张伟"}, {"q": "张三丰"}, {"q": "王伟"}, {"q": "长"}, {"q": "·"},
        {"q": "z"}, {"q": "Z"}, {"q": "l"}, {"q": "w"}, {"q": "o"}, {"q": "a"}, {"q": "q"},
        {"q": "zs"}, {"q": "zw"}, {"q": "ZW"}, {"q": "zhang"}, {"q": "zhangwei"}, {"q": "liang"}, {"q": "lia"},
        {"q": "li"}, {"q": "Li"}, {"q": "lily"}, {"q": "chang"}, {"q": "zeng"}, {"q": "shan"}, {"q": "xyz"},
        {"q": idn}, {"q": idn.lower()}, {"q": "421124800101001"}, {"q": idn[:6]}, {"q": idn[:10]},
        {"q": idn[:11]}, {"q": idn[:17]}, {"q": "13900001111"}, {"q": "0713-7012345"}, {"q": "4211"},
        {"q": "%"}, {"q": "张%"}, {"q": "_"}, {"q": "张_"},
        {"household_number": f"H{f.VILLAGE_A1}-0"}, {"village_code": f.TOWN_A}, {"village_code": f.VILLAGE_B1},
        {"q": "z", "village_code": f.TOWN_A}, {"name": "张"}, {"q": "w", "name": "王"},
        {"id_number": idn}, {"id_number": idn[:8]}, {"phone": "13900001111"}, {"q": "l", "phone": "13900001111"},
        {"q": "王伟", "include_merged": True}, {"q": "w", "include_merged": True},
    ]


@pytest.mark.parametrize("cap, sorted_at_most", [
    (1000, 10_000),  # the county's settings: every branch of the small county is within the cap
    (3, 10_000),  # branches beyond the cap, their ranges sorted whole
    (3, 2),  # beyond the cap and walked in their bucket's name order
    (1, 0),
])
def test_search_returns_the_plain_statements_page_and_count(session, county, crowd, monkeypatch, cap,
                                                           sorted_at_most):
    monkeypatch.setattr(residents_queries, "COUNT_CAP", cap)
    monkeypatch.setattr(search, "SORTED_AT_MOST", sorted_at_most)
    actors = {
        "village": actor_of(session, "village_doctor", f.VILLAGE_A1),
        "township": actor_of(session, "township_doctor", f.TOWN_A),
        "county": actor_of(session, "county_doctor", f.COUNTY),
        "system": Actor.system("test"),
    }
    checked = 0
    for criteria in queries(crowd):
        for who, actor in actors.items():
            for page, page_size in ((1, 20), (1, 2), (2, 2), (3, 2), (2, 3), (9, 5)):
                found = service.search(session=session, actor=actor, page=page, page_size=page_size, **criteria)
                expected = reference(session, actor, page, page_size, **criteria)
                assert ([r.id for r in found.items], found.total) == expected, (criteria, who, page, page_size)
                checked += bool(expected[0])
    assert checked > 500  # most of them find someone


def test_search_pages_carry_their_households(session, county, crowd):
    found = service.search(session=session, actor=Actor.system("test"), household_number=f"H{f.VILLAGE_A1}-0")
    assert found.items and all(r.household is not None and r.household.number == f"H{f.VILLAGE_A1}-0"
                               for r in found.items)


def test_a_single_letter_is_its_first_letter_column(session, county, crowd):
    # The generated columns the one-letter search walks hold the first letters of the pinyin keys.
    rows = session.execute(select(Resident.name_initials, Resident.initials_first, Resident.name_pinyin,
                                  Resident.pinyin_first)).all()
    assert rows and all((a[:1], b[:1]) == (a1, b1) for a, a1, b, b1 in rows)


def test_searches_of_one_shape_share_their_statements_but_not_their_values(session, county, crowd):
    system = Actor.system("test")
    first = service.search(session=session, actor=system, q="zs")
    built = len(search._STATEMENTS)
    second = service.search(session=session, actor=system, q="ls")
    assert len(search._STATEMENTS) == built
    for q, page in (("zs", first), ("ls", second)):
        assert ([r.id for r in page.items], page.total) == reference(session, system, 1, 20, q=q)
    assert {r.name for r in second.items} >= {"李四", "李思", "李思思"}
