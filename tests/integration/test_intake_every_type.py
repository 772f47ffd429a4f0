"""A realistic first message of every dispute type, through the real system, to a confirmed fact summary.

Mediable types end with a stored, confirmed case of that type; criminal, administrative and other legal
questions end with where to go instead. The messages were written for this test (not evaluation data).
"""

from __future__ import annotations

import re

import pytest

from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.intake.classify import understood_label

from .conftest import System, new_sender
from .test_intake_journey import Transcript, _button_number, _cases, _texts, answer_until_summary

pytestmark = pytest.mark.integration

FIRST_MESSAGES = {
    "family": "结婚八年了 老公在外面有人 我想离婚 孩子的抚养权想要过来",
    "neighbor": "隔壁邻居在我家门口堆满了杂物 说了好几次也不搬走",
    "property_mgmt": "小区电梯坏了三个月都没人修 物业费倒是年年涨",
    "labor": "在厂里干了半年 老板拖欠三个月工资不给",
    "debt": "前年借给我表哥五万块钱 说好一年还 现在电话都不接",
    "finance": "信用卡逾期了两个月 银行天天打电话催收 还说要起诉我",
    "traffic": "骑电动车被小轿车撞了 腿骨折住院 对方保险公司一直拖着不赔",
    "housing": "租的房子到期退租 房东找借口扣了我三千块押金不退",
    "land_demolition": "村里征地拆迁 给我家的补偿款比别人家少一大截",
    "rural_land": "我家承包的田被村里收回去给别人种了 也没跟我商量",
    "consumer": "在网上买的冰箱用了一周就坏了 商家不给退也不给换",
    "medical": "我爸在医院做手术 医生操作失误 现在落下残疾 医院不承认",
    "personal_injury": "邻居家的狗把我女儿咬伤了 打疫苗花了两千多 他们不肯赔",
    "contract": "找的装修公司收了钱 活干了一半人就不来了 墙面还开裂",
    "environment": "村边的化工厂天天往河里排污水 臭得不行 鱼都死了",
    "enforcement": "法院判了对方还我八万块 判决都下来半年了 他就是不给",
    "criminal": "我被人骗了两万块 对方冒充客服让我转账 现在联系不上",
    "administrative": "城管把我的摊位没收了还罚款五千 我觉得处罚不合理",
    "other_legal": "我想注册一个商标 不知道需要办什么手续",
}

# What a resident answers, by a word of the question asked; questions whose examples name other facts
# ("要回多少钱", "借条") come first.
ANSWERS = (
    ("怎么解决", "希望对方赔偿损失"),
    ("报警", "找村里调解过 没用"),
    ("证据", "有照片和聊天记录"),
    ("对方是您的什么人", "我丈夫"),
    ("哪家物业公司", "阳光物业公司"),
    ("哪家医院", "柯城区某某医院"),
    ("是谁欠您", "我表哥张某"),
    ("对方是谁", "对方姓张"),
    ("哪家单位", "衢州市某某电子厂"),
    ("具体说说", "事情拖了很久 对方一直不解决"),
    ("什么时候发生", "去年十月"),
    ("发生在哪里", "柯城区白云街道"),
    ("几个月", "三个月"),
    ("多少钱", "两万元"),
    ("金额", "两万元"),
    ("受伤", "腿骨折了 在住院"),
    ("认定书", "出了 对方全责"),
    ("交强险", "有交强险"),
    ("孩子", "有一个孩子 五岁 跟我生活"),
    ("哪个小区", "阳光花园小区"),
    ("多少户", "二十多户"),
    ("借条", "有借条"),
    ("什么时候还", "说好去年年底还"),
    ("哪个法院", "柯城区人民法院"),
    ("案号", "不知道"),
    ("电话", "13812345678"),
)


@pytest.mark.parametrize("code", list(FIRST_MESSAGES))
def test_first_message_to_confirmed_summary(system: System, code: str) -> None:
    sender = new_sender()
    chat = Transcript(system, sender)
    try:
        _journey(system, sender, chat, code)
    finally:
        print("\n".join(chat.lines))


def _journey(system: System, sender: str, chat: Transcript, code: str) -> None:
    dispute = BY_CODE[code]
    reply = chat.say(FIRST_MESSAGES[code])
    text = _texts(reply)
    if "对吗" in text:
        assert f"您遇到的是{understood_label(code, FIRST_MESSAGES[code])}" in text, text
        reply = chat.say("对")
    elif dispute.mediable:  # unsure: numbered choices, which must offer the right type
        number = _button_number(reply, f"/{dispute.intent}")
        assert number, text
        reply = chat.say(number)
    if not dispute.mediable:
        said = text + "\n" + _texts(reply)
        assert dispute.redirect in said, said
        assert all(case.status != "confirmed" for case in _cases(system.settings.database_url, sender))
        return
    reply, _ = answer_until_summary(chat, reply, ANSWERS, 20)
    summary = _texts(reply)
    assert "以上信息对吗" in summary, summary
    # the answers land in the facts they answer (not in a neighbouring question's slot)
    assert "13812345678" in summary and "希望对方赔偿损失" in summary and "有照片和聊天记录" in summary
    confirm = _button_number(reply, "/affirm")
    assert confirm is not None, summary
    reply = chat.say(confirm)
    match = re.search(r"QZ\d{4}-\d{6}", _texts(reply))
    assert match, _texts(reply)
    [case] = _cases(system.settings.database_url, sender)
    assert (case.number, case.status, case.dispute_code) == (match.group(0), "confirmed", code)
    assert case.facts["phone"] == "13812345678"
