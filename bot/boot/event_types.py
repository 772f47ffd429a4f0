"""Find an event's class by its type name in a table instead of walking every Event subclass per event.

Rasa 3.6's `Event.resolve_by_type` walks all Event subclasses for each event it reads back from the tracker
store or from the action server: about 7 % of the Rasa process's CPU under load (py-spy, docs/BENCHMARKS.md,
"Where a turn's time goes"). The table is rebuilt whenever a name is missing, so a subclass defined later is
found as before; a name that is still unknown ends as Rasa's own method ends.

`install()` replaces the static method for the running process only.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Make `Event.resolve_by_type` look names up in a table; idempotent."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    if getattr(Event.resolve_by_type, "_table", False):
        return
    original = Event.__dict__["resolve_by_type"].__func__
    table: dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        found = table.get(type_name)
        if found is None:
            # First of each name, or a subclass defined since the table was built: the first match, as Rasa's.
            table.clear()
            for cls in reversed(all_subclasses(Event)):
                table[cls.type_name] = cls
            found = table.get(type_name)
        return found if found is not None else original(type_name, default)

    resolve_by_type._table = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign,assignment]
