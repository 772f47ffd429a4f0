"""Validate the action server's answers with one validator built once (runs in the Rasa environment).

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate`, which first checks the schema
itself against JSON Schema's meta-schema, on every call to the action server: 63 % of the Rasa process's CPU
under load (py-spy, docs/BENCHMARKS.md, "Where a turn's time goes"). The schema is a constant, so it is checked
once here; each answer is then validated against it and a bad one raises the same error with Rasa's message.

`install()` replaces the method for the running process only.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Make `RemoteAction._validate_action_result` reuse one checked validator; idempotent."""
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

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
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
