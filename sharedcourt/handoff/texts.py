"""The handoff's words: what residents and staff read, and the words they type that mean something."""

from __future__ import annotations

END_WORDS = ("结束人工", "退出人工", "结束人工服务", "不需要人工了", "人工结束", "取消人工")
NO_COMMENT = ("", "没有", "无", "没有了", "不用了")
RATING_PROMPT = "本次人工服务已结束。请您为这次服务打分（1-5分，5分最满意），直接回复数字即可："
RATING_LABELS = ("1分 很不满意", "2分 不满意", "3分 一般", "4分 满意", "5分 非常满意")
ASK_SCORE = "请回复1到5之间的数字打分（5分最满意）。"
THANKS_FOR_COMMENT = "感谢您的评价，我们会继续改进。还有什么可以帮您？"
UNAVAILABLE = "抱歉，人工服务系统暂时连接不上。您可以稍后再试，或拨打12368诉讼服务热线；紧急情况请拨打110。"
TEXT_ONLY = "目前只能转发文字消息，图片和语音请用文字说明，或在对话记录中查看居民发送的材料。"
ROLE_WORDS = {
    "法官": "judge",
    "结对法官": "judge",
    "调解员": "mediator",
    "庭务主任": "director",
    "律师": "lawyer",
    "共享律师": "lawyer",
    "民警": "police",
    "警务站": "police",
    "和姐": "family_mediator",
    "家事调解员": "family_mediator",
    "指挥中心": "dispatch",
}
HELP = (
    "可用命令（整条消息只写命令；也可以在命令前加“#”，例如“#交还”）：\n"
    "· 接单 T00001\n"
    "· 转交 法官 / 调解员 / 庭务主任 / 指挥中心（或对方编号）\n"
    "· 结束 调解成功|调解不成|转立案|已解答|其他 备注\n"
    "· 交还（把对话交还智能助手）\n"
    "· 帮助\n"
    "接单后，您发送的其他文字都会直接转给居民，包括以这些词开头的话（如“交还押金的事我问了”）。"
)
UNKNOWN_COMMAND = "没有这个命令，消息未转发。\n"
CASE_STATUS = {
    "open": "登记中",
    "confirmed": "已登记",
    "booked": "已预约调解",
    "handed_off": "已转工作人员处理",
    "closed": "已办结",
}
TRANSCRIPT_AUTHORS = {"resident": "居民", "bot": "智能助手", "system": "系统"}


def is_end(text: str) -> bool:
    """Whether a resident's message asks to end the human service."""
    return text.strip().rstrip("。！!") in END_WORDS
