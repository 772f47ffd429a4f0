"""Copy Rasa's slots without the pickle protocol (runs in the Rasa environment).

Every `DialogueStateTracker` Rasa builds copies each of the domain's ~45 slots with `copy.copy`, which for a plain
class goes through `__reduce_ex__` and `copyreg`: 6.5 % of the Rasa process's CPU under load (py-spy `--gil`,
docs/BENCHMARKS.md), since a turn builds a tracker per prediction (prior states), per form validation and per
retrieval. `Slot.__copy__` below does what `copy.copy` does for such a class (a new instance of the same class
with the same attributes, shallow), without the detour.

`install()` adds the method for the running process only; it refuses if a slot class defines its own copying.
"""

from __future__ import annotations

from typing import Any

_OWN_COPYING = ("__copy__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__", "__slots__")


def install() -> None:
    """Give `rasa.shared.core.slots.Slot` a shallow `__copy__` equal to copy.copy's default; idempotent."""
    from rasa.shared.core.slots import Slot
    from rasa.shared.utils.common import all_subclasses

    if getattr(Slot, "_plain_copy", False):
        return
    for cls in (Slot, *all_subclasses(Slot)):
        own = [name for name in _OWN_COPYING if name in vars(cls)]
        if own:
            raise RuntimeError(f"{cls.__name__} defines {own}: copy.copy's default may not apply")

    def __copy__(self: Any) -> Any:
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    Slot.__copy__ = __copy__  # type: ignore[attr-defined]
    Slot._plain_copy = True  # type: ignore[attr-defined]
