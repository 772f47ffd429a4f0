"""Cards for staff (DingTalk): everything from the resident is masked, the summary too, with the case's names."""

from __future__ import annotations

from sqlalchemy import update
from stand_ins.handoff_world import World

from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.handoff.core import HandoffRequest

SAID = "欧阳娜娜家装修把我家墙震裂了，我是赵六，电话13812345678"
SUMMARY = (
    "纠纷类型：邻里纠纷\n对方当事人：欧阳娜娜\n事情经过：欧阳娜娜家装修把墙震裂，住人民路88号3幢201室，"
    "身份证330802199001011232"
)
SECRETS = ("欧阳娜娜", "娜娜", "赵六", "13812345678", "人民路", "201室", "199001011232")


async def test_the_offer_card_masks_the_residents_words_and_the_summary(world: World) -> None:
    conversation_id, _ = await world.say("u-card", SAID)
    async with world.sessions() as session, session.begin():
        conversation = await session.get_one(Conversation, conversation_id)
        await session.execute(update(Resident).where(Resident.id == conversation.resident_id).values(name="赵六"))
        session.add(
            Case(
                resident_id=conversation.resident_id,
                conversation_id=conversation_id,
                dispute_code="neighbor",
                facts={"party": "欧阳娜娜"},
            )
        )
    outcome = await world.service.request(HandoffRequest(conversation_id=conversation_id, summary=SUMMARY))
    assert outcome.ok and outcome.number
    cards = [card for _, card in world.notifier.messages if outcome.number in card.title]
    assert cards, "the first person on duty got a card"
    for card in cards:
        assert "> 欧阳**家装修把我家墙震裂了，我是赵*，电话138****5678" in card.text
        assert "事实摘要：纠纷类型：邻里纠纷\n对方当事人：欧阳**\n事情经过：欧阳**家装修把墙震裂，住****" in card.text
        assert all(secret not in card.text for secret in SECRETS), card.text
