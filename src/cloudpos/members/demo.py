"""Demo data for members: the programme (rules, tiers sized for a convenience store, top-up bonuses, a points
catalog), ~60 members with realistic Chinese names and valid mobile numbers, stored-value top-ups, two segments
and a campaign.

No purchase history is made up here: visits, spend, points and tiers come from real sales only. The full demo
(`cloudpos demo seed`, see ops/demo_history.py) registers these members at the till over the last weeks and
sells to them through checkout. `seed(db, actor, store_ids)` registers them all at once, without any sale
(idempotent per merchant: does nothing when members exist)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.members import campaigns, domain, points, program, registration, segments, stored_value, tiers
from cloudpos.members.models import Member
from cloudpos.members.schemas import (
    CampaignIn,
    CatalogItemIn,
    JoinIn,
    MemberIn,
    ProgramPatch,
    SegmentFilters,
    SegmentIn,
    TierPatch,
    TopUpRuleIn,
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀兰", "霞", "平", "刚", "桂英", "晓明", "子涵", "欣怡", "梓轩", "一诺", "浩然", "雨桐", "思远", "佳怡",
         "宇航", "诗涵", "俊杰", "婷婷", "建华", "志强", "海燕", "文博"]
# Valid mainland mobile prefixes (China Mobile, Unicom, Telecom).
PREFIXES = ["134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182", "187", "188",
            "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "181", "189", "177", "199"]
MEMBER_PIN = "135790"  # the demo members who chose a PIN (stored-value payments above the threshold) use this one
# A convenience store's tiers: spend thresholds a regular reaches in a few weeks (the built-in ¥2,000 / ¥10,000
# suit a supermarket).
TIER_THRESHOLDS = {"silver": 30_000, "gold": 100_000}


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


@dataclass(frozen=True)
class DemoMember:
    data: MemberIn
    top_up_fen: int  # stored value bought when joining (0: none)
    top_up_method: str
    channel: str = "till"  # till: registered by the cashier | online: joined from the store's QR poster

    @property
    def pin(self) -> str | None:
        return self.data.pin


def people(store_ids: list[uuid.UUID], count: int = 60, rng_seed: int = 2026,
           birthday_month: int | None = None) -> list[DemoMember]:
    """The demo members (same people on every run); a few have their birthday in `birthday_month`."""
    rng = random.Random(rng_seed)  # noqa: S311 - reproducible demo data
    used: set[str] = set()
    out = []
    for i in range(count):
        phone = fake_phone(rng)
        while phone in used:
            phone = fake_phone(rng)
        used.add(phone)
        birthday = date(rng.randrange(1960, 2005), rng.randrange(1, 13), rng.randrange(1, 29))
        if i % 12 == 0 and birthday_month:  # a few birthdays this month for the birthday job and segment
            birthday = birthday.replace(month=birthday_month)
        email = f"member{i:02d}@example.com" if i % 3 == 0 else ""
        online = i % 10 == 7  # a few join from the QR poster (a PIN is required there)
        data = MemberIn(phone=phone, name=fake_name(rng), email=email, birthday=birthday,
                        gender=rng.choice(["female", "male", ""]), pin=MEMBER_PIN if i % 4 == 0 or online else None,
                        marketing_consent=i % 3 != 2, store_id=store_ids[i % len(store_ids)] if store_ids else None)
        top_up = rng.choice([20_000, 50_000, 100_000]) if i % 5 == 1 else 0
        out.append(DemoMember(data, top_up, rng.choice(["wechat", "alipay", "cash"]), "online" if online else "till"))
    return out


def has_members(db: Session, tenant_id: uuid.UUID) -> bool:
    return bool(db.scalar(select(func.count()).select_from(Member).where(Member.tenant_id == tenant_id)))


def seed_program(db: Session, actor: Actor) -> None:
    """Programme rules, tiers, top-up bonuses and the points catalog (each its own transaction)."""
    # a convenience store sees its regulars every week: active = seen within 30 days, RFM "recent" = 14 days
    program.update_settings(db, actor, ProgramPatch(redeem_points_per_yuan=100, redeem_max_order_bp=3000,
                                                    sv_pin_threshold_fen=20_000, visit_coupon_every=0, active_days=30,
                                                    rfm_recent_days=14, rfm_frequent_visits=4, rfm_monetary_fen=30_000))
    for t in tiers.ensure_tiers(db, actor):
        if t.code in TIER_THRESHOLDS and t.threshold_spend_fen != TIER_THRESHOLDS[t.code]:
            tiers.update_tier(db, actor, t.id, TierPatch(threshold_spend_fen=TIER_THRESHOLDS[t.code]))
    db.commit()
    for threshold, bonus in ((20_000, 2_000), (50_000, 6_000), (100_000, 15_000)):
        stored_value.save_rule(db, actor, TopUpRuleIn(threshold_fen=threshold, bonus_fen=bonus))
    for name, pts, stock in (("环保购物袋", 300, 200), ("保温杯", 3_000, 30), ("10 元代金券", 1_000, None)):
        points.save_catalog_item(db, actor, CatalogItemIn(name=name, points=pts, stock=stock))


def join(db: Session, actor: Actor, person: DemoMember) -> uuid.UUID:
    """Register the member at the till, or online from the QR poster (and the top-up bought when joining)."""
    d = person.data
    if person.channel == "online":
        return registration.join(db, actor.tenant_id, d.store_id, JoinIn(
            phone=d.phone, name=d.name, birthday=d.birthday, pin=d.pin, privacy=True, marketing=d.marketing_consent)).id
    m = registration.register(db, actor, d)
    if person.top_up_fen:
        stored_value.top_up(db, actor, m.id, person.top_up_fen, person.top_up_method, store_id=person.data.store_id)
    return m.id


def seed_marketing(db: Session, actor: Actor) -> None:
    seg = segments.save(db, actor, SegmentIn(name="30 天未到店", filters=SegmentFilters(last_visit_older_than_days=30)))
    segments.save(db, actor, SegmentIn(name="本月生日", filters=SegmentFilters(birthday_this_month=True)))
    campaigns.save(db, actor, CampaignIn(name="老客召回短信", segment_id=seg.id, action="message", channel="sms",
                                         body="{name}您好，好久不见！本周到店消费享双倍积分。"))


def seed(db: Session, actor: Actor, store_ids: list[uuid.UUID], count: int = 60, rng_seed: int = 2026) -> int:
    """Seed the members demo for actor's merchant, all joining now and none having bought anything yet.
    Returns the number of members created."""
    db.info["tenant_id"] = actor.tenant_id
    if has_members(db, actor.tenant_id):
        return 0
    seed_program(db, actor)
    created = [join(db, actor, person)
               for person in people(store_ids, count, rng_seed, birthday_month=program.today().month)]
    seed_marketing(db, actor)
    return len(created)
