"""What the WeChat channel itself says to residents (welcome, privacy notice, refusals)."""

from __future__ import annotations

from sharedcourt.messaging.replies import Button
from sharedcourt.retention.periods import period_zh
from sharedcourt.settings import Settings

# The periods are the purge's own settings (sharedcourt.retention), rendered in words.
PRIVACY_TEMPLATE = (
    "隐私说明：我们保存您发来的文字、语音识别文字、照片、文件和位置，以及与您的对话记录，仅用于办理您的咨询和调解；"
    "案件材料在案件办结后保存{case}{evidence}，未形成案件的咨询记录保存{enquiry}，到期删除。"
    "只有负责您事务的调解员、法官和共享法庭工作人员可以查看，不会用于其他用途。"
)
WELCOME_TEMPLATE = (
    "您好，欢迎关注共享法庭！共享法庭就在您身边的村（社区）和乡镇（街道），"
    "可以帮您梳理纠纷、找到最近的共享法庭、预约调解，或联系调解员和法官。\n"
    "请直接说说您遇到的问题，也可以发语音、照片或位置。\n"
)


def privacy_notice(settings: Settings) -> str:
    """The privacy notice with the retention periods the purge applies."""
    evidence = ""
    if settings.retention_evidence_days < settings.retention_case_days:
        evidence = f"（其中照片、文件保存{period_zh(settings.retention_evidence_days)}）"
    return PRIVACY_TEMPLATE.format(
        case=period_zh(settings.retention_case_days),
        evidence=evidence,
        enquiry=period_zh(settings.retention_enquiry_days),
    )


def welcome(settings: Settings) -> str:
    """What a new follower reads: what the account does, then the privacy notice."""
    return WELCOME_TEMPLATE + privacy_notice(settings)


WELCOME_BUTTONS = (
    Button("我要调解", "/start_mediation"),
    Button("找最近的共享法庭", "/find_site"),
    Button("人工服务", "/request_human"),
)
VOICE_UNRECOGNISED = "抱歉，这条语音暂时无法识别。请您直接输入文字，或选择人工服务，由工作人员帮助您。"
HUMAN_BUTTON = Button("人工服务", "/request_human")
UNKNOWN_MENU = "抱歉，这个菜单暂时不可用。请直接说说您遇到的问题。"
UNSUPPORTED = "抱歉，暂时无法处理这种消息。请用文字描述您的问题，或发送照片、语音。"
URGENT_TITLE = "共享法庭有新回复，请进入公众号查看"
SCAN_THANKS = "已收到，欢迎使用共享法庭在线服务。"
SITE_NOTED = "已记录您所在的共享法庭站点。"
SITE_FOUND = "您现在在{name}，工作人员可以就近为您服务。"
EVIDENCE_NOUNS = {"image": "照片", "video": "视频", "file": "文件", "link": "链接"}
EVIDENCE_ON_CASE = "已收到您的{noun}，已作为证据材料附到您的案件（{case}）中。"
EVIDENCE_KEPT = "已收到您的{noun}，已作为证据材料妥善保存。登记纠纷后会一并附到您的案件中。"

# A resident accepted a subscription notice (订阅通知) in WeChat's pop-up.
SUBSCRIBED = "好的，已为您开启提醒：调解前会通过微信服务通知提醒您。不需要时回复“不用提醒了”。"
