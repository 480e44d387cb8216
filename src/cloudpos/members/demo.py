"""Demo data for members: tiers, programme rules, ~60 members with realistic Chinese names and valid mobile
numbers, purchases (points, visits, tiers), top-ups and payments, a points catalog, a segment and a campaign.

`seed(db, actor, store_ids)` is idempotent per merchant (does nothing when members exist)."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.context import Actor
from cloudpos.members import (
    campaigns,
    domain,
    points,
    program,
    registration,
    segments,
    stats,
    stored_value,
    tiers,
)
from cloudpos.members.models import Member
from cloudpos.members.schemas import (
    CampaignIn,
    CatalogItemIn,
    MemberIn,
    ProgramPatch,
    SegmentFilters,
    SegmentIn,
    TopUpRuleIn,
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀兰", "霞", "平", "刚", "桂英", "晓明", "子涵", "欣怡", "梓轩", "一诺", "浩然", "雨桐", "思远", "佳怡",
         "宇航", "诗涵", "俊杰", "婷婷", "建华", "志强", "海燕", "文博"]
# Valid mainland mobile prefixes (China Mobile, Unicom, Telecom).
PREFIXES = ["134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182", "187", "188",
            "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "181", "189", "177", "199"]
CATEGORIES = ["饮料", "零食", "乳制品", "日用百货", "生鲜", "酒水", "粮油"]


def fake_phone(rng: random.Random) -> str:
    while True:
        number = rng.choice(PREFIXES) + "".join(str(rng.randrange(10)) for _ in range(8))
        try:
            domain.normalize_phone(number)
            return number
        except ValueError:
            continue


def fake_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def seed(db: Session, actor: Actor, store_ids: list[uuid.UUID], count: int = 60, rng_seed: int = 2026) -> int:
    """Seed the members demo for actor's merchant. Returns the number of members created."""
    db.info["tenant_id"] = actor.tenant_id
    if db.scalar(select(func.count()).select_from(Member).where(Member.tenant_id == actor.tenant_id)):
        return 0
    rng = random.Random(rng_seed)
    program.update_settings(db, actor, ProgramPatch(redeem_points_per_yuan=100, redeem_max_order_bp=3000,
                                                    sv_pin_threshold_fen=20_000, visit_coupon_every=0))
    tiers.ensure_tiers(db, actor)
    db.commit()
    for threshold, bonus in ((20_000, 2_000), (50_000, 6_000), (100_000, 15_000)):
        stored_value.save_rule(db, actor, TopUpRuleIn(threshold_fen=threshold, bonus_fen=bonus))
    for name, pts, stock in (("环保购物袋", 300, 200), ("保温杯", 3_000, 30), ("10 元代金券", 1_000, None)):
        points.save_catalog_item(db, actor, CatalogItemIn(name=name, points=pts, stock=stock))
    used: set[str] = set()
    created: list[uuid.UUID] = []
    today = program.today()
    for i in range(count):
        phone = fake_phone(rng)
        while phone in used:
            phone = fake_phone(rng)
        used.add(phone)
        birthday = date(rng.randrange(1960, 2005), rng.randrange(1, 13), rng.randrange(1, 29))
        if i % 12 == 0:  # a few birthdays this month for the birthday job and segment
            birthday = birthday.replace(month=today.month)
        email = f"member{i:02d}@example.com" if i % 3 == 0 else ""
        m = registration.register(db, actor, MemberIn(
            phone=phone, name=fake_name(rng), email=email, birthday=birthday, gender=rng.choice(["female", "male", ""]),
            pin="135790" if i % 4 == 0 else None, marketing_consent=i % 3 != 2,
            store_id=store_ids[i % len(store_ids)] if store_ids else None))
        created.append(m.id)
    now = clock.now()
    for i, mid in enumerate(created):
        visits = [0, 1, 2, 3, 5, 8, 13][i % 7]
        for v in range(visits):
            paid = rng.randrange(1_500, 60_000)
            cats = rng.sample(CATEGORIES, 2)
            split = rng.randrange(0, paid)
            at = now - timedelta(days=rng.randrange(0, 200), hours=rng.randrange(0, 12))
            points.record_purchase(db, actor, mid, uuid.uuid4(), paid, {cats[0]: split, cats[1]: paid - split},
                                   store_id=store_ids[v % len(store_ids)] if store_ids else None, occurred_at=at)
            # made-up past purchases have no sales document: give the rollup the visit a sale would
            # (`cloudpos members rebuild-stats` recomputes from real sales only)
            stats.record_visit(db, actor.tenant_id, mid, paid, at)
            db.commit()
        if i % 5 == 1:
            stored_value.top_up(db, actor, mid, rng.choice([20_000, 50_000, 100_000]), rng.choice(["wechat", "alipay",
                                                                                                  "cash"]))
            if i % 10 == 1:
                stored_value.pay_with_stored_value(db, actor, mid, rng.randrange(1_000, 15_000), uuid.uuid4())
                db.commit()
    tiers.evaluate_all(db, actor)
    seg = segments.save(db, actor, SegmentIn(name="60 天未到店", filters=SegmentFilters(last_visit_older_than_days=60)))
    segments.save(db, actor, SegmentIn(name="本月生日", filters=SegmentFilters(birthday_this_month=True)))
    campaigns.save(db, actor, CampaignIn(name="老客召回短信", segment_id=seg.id, action="message", channel="sms",
                                         body="{name}您好，好久不见！本周到店消费享双倍积分。"))
    return len(created)
