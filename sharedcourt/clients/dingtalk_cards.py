"""DingTalk interactive cards (卡片平台): create-and-deliver to one person's robot chat, update by outTrackId, and
the payload of a button press.

Wire formats (open.dingtalk.com; the same bodies as dingtalk-stream 0.24.3 `card_replier.py`):
- POST {base}/v1.0/card/instances/createAndDeliver, header x-acs-dingtalk-access-token,
  {"cardTemplateId","outTrackId","cardData":{"cardParamMap":{str: str}},"callbackType":"STREAM"|"HTTP",
  "callbackRouteKey" (HTTP only),"openSpaceId":"dtv1.card//IM_ROBOT.<userId>","userIdType":1,
  "imRobotOpenSpaceModel":{"supportForward":false},"imRobotOpenDeliverModel":{"spaceType":"IM_ROBOT","robotCode"}}
- PUT {base}/v1.0/card/instances
  {"outTrackId","cardData":{"cardParamMap"},"cardUpdateOptions":{"updateCardDataByKey":true}}
- A press (Stream topic /v1.0/card/instances/callback, or POSTed to the URL registered for the callbackRouteKey):
  {"type":"actionCallback","corpId","userId","outTrackId","content":"<JSON string>"}, the content holding
  {"cardPrivateData":{"actionIds":[<button id>],"params":{...}}}.
The param map follows DingTalk's general markdown-with-buttons template (the SDK's MarkdownButtonCardInstance):
`title`, `markdown`, `tips`, and `sys_full_json_obj` = {"msgButtons":[{"text","color","id","request":true}]};
a button with "request": true sends a press carrying its id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sharedcourt.clients.dingtalk import DingTalkClient
from sharedcourt.errors import BadRequest

CARD_TOPIC = "/v1.0/card/instances/callback"


@dataclass(frozen=True)
class CardButton:
    """A button that sends a press with `action` as its id."""

    text: str
    action: str
    color: str = "blue"

    def wire(self) -> dict[str, Any]:
        """The button as the template's msgButtons entry."""
        return {"text": self.text, "color": self.color, "id": self.action, "request": True}


def param_map(*, buttons: Sequence[CardButton], tips: str, title: str = "", markdown: str = "") -> dict[str, str]:
    """The card's variables (every value a string, as cardParamMap requires); title/markdown only when given."""
    params = {"tips": tips, "sys_full_json_obj": json.dumps({"msgButtons": [b.wire() for b in buttons]})}
    if title:
        params["title"] = title
    if markdown:
        params["markdown"] = markdown
    return params


@dataclass(frozen=True)
class Press:
    """A button press: who (DingTalk userId), on which card (outTrackId), which button (its action id)."""

    user_id: str
    out_track_id: str
    action: str

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Press:
        """Read a press payload; BadRequest when a field is missing or the content is not the expected JSON."""
        user_id, out_track_id = str(data.get("userId") or ""), str(data.get("outTrackId") or "")
        raw = data.get("content") or "{}"
        try:
            content = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as exc:
            raise BadRequest("card press content is not JSON") from exc
        private = content.get("cardPrivateData") if isinstance(content, dict) else None
        actions = private.get("actionIds") if isinstance(private, dict) else None
        action = str(actions[0]) if isinstance(actions, list) and actions else ""
        if not user_id or not out_track_id or not action or max(map(len, (user_id, out_track_id, action))) > 128:
            raise BadRequest("userId, outTrackId and an action id are required")
        return cls(user_id, out_track_id, action)


async def create_and_deliver(
    client: DingTalkClient,
    *,
    template_id: str,
    out_track_id: str,
    user_id: str,
    params: dict[str, str],
    route_key: str = "",
) -> None:
    """One card to one person's chat with the robot; presses come back by Stream, or by HTTP with `route_key`."""
    body: dict[str, Any] = {
        "cardTemplateId": template_id,
        "outTrackId": out_track_id,
        "cardData": {"cardParamMap": params},
        "callbackType": "HTTP" if route_key else "STREAM",
        "openSpaceId": f"dtv1.card//IM_ROBOT.{user_id}",
        "userIdType": 1,
        "imRobotOpenSpaceModel": {"supportForward": False},
        "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": client.robot_code},
    }
    if route_key:
        body["callbackRouteKey"] = route_key
    await client.api("POST", "/v1.0/card/instances/createAndDeliver", body)


async def update(client: DingTalkClient, out_track_id: str, params: dict[str, str]) -> None:
    """Change the given variables of a delivered card (the others stay)."""
    body = {
        "outTrackId": out_track_id,
        "cardData": {"cardParamMap": params},
        "cardUpdateOptions": {"updateCardDataByKey": True},
    }
    await client.api("PUT", "/v1.0/card/instances", body)
