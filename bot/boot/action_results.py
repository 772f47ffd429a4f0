"""Validate the action server's answers with validators built once (runs in the Rasa environment).

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate`, which first checks the schema
itself against JSON Schema's meta-schema, on every call to the action server: 63 % of the Rasa process's CPU
under load (py-spy, docs/BENCHMARKS.md, "Where a turn's time goes"). The schema is a constant, so it is checked
once here; each answer is then validated against it and a bad one raises the same error with Rasa's message.

Each event of an answer must match exactly one of ~25 `oneOf` branches, told apart by the `event` name's `const`;
checking all of them was the next 8 % of Rasa's CPU. A fast path checks an event against its own branch only (the
others cannot match: their `const` differs), which decides "valid" exactly; anything it does not find valid goes
through the full schema, so every verdict and error message is the full schema's.

`install()` replaces the method for the running process only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]


def by_event_name(schema: dict[str, Any], build: Callable[[dict[str, Any]], Any]) -> Check | None:
    """A check that is True only for answers the schema accepts (None when the schema is not shaped for it)."""
    events = schema.get("properties", {}).get("events", {})
    items = events.get("items", {})
    branches = items.get("oneOf")
    if not isinstance(branches, list):
        return None
    base = {key: value for key, value in items.items() if key != "oneOf"}
    per_event = {}
    for branch in branches:
        name = branch.get("properties", {}).get("event", {}).get("const")
        if not isinstance(name, str) or name in per_event:
            return None  # a branch not told apart by one unique name: only the full schema can decide
        per_event[name] = build({"allOf": [base, branch]})
    rest = build({**schema, "properties": {**schema["properties"], "events": {**events, "items": {}}}})

    def valid(answer: Any) -> bool:
        if not rest.is_valid(answer):
            return False
        for event in answer.get("events") or ():
            name = event.get("event") if isinstance(event, dict) else None
            one = per_event.get(name) if isinstance(name, str) else None
            if one is None or not one.is_valid(event):
                return False
        return True

    return valid


def install() -> None:
    """Make `RemoteAction._validate_action_result` reuse validators checked once; idempotent."""
    from jsonschema import exceptions
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction._validate_action_result, "_one_validator", False):
        return
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    fast = by_event_name(schema, cls)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if fast is not None and fast(result):
            return True
        # As jsonschema.validate: the most relevant of all errors, not the first found.
        error = exceptions.best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    _validate_action_result._one_validator = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
