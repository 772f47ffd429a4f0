"""Reading JSON request bodies at the HTTP edge: one object, or a BadRequest that says why."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from sharedcourt.errors import BadRequest


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as one JSON object; BadRequest when it is not JSON or not an object."""
    try:
        data = await request.json()
    except ValueError:
        raise BadRequest("body must be JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data
