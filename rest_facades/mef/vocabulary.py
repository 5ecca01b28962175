"""Core state names (`held_assessing_charge`) to MEF ones (`held.assessingCharge`) and back."""

from enum import StrEnum


def _key(value: str) -> str:
    return value.replace(".", "").replace("_", "").lower()


def to_mef(value: str, vocabulary: type[StrEnum]) -> str:
    """The MEF spelling of a core state, from the MEF enumeration it belongs to."""
    spelled = {_key(member.value): member.value for member in vocabulary}
    return spelled[_key(value)]


def from_mef(value: str, core: type[StrEnum]) -> StrEnum:
    """The core state a MEF state name stands for."""
    spelled = {_key(member.value): member for member in core}
    return spelled[_key(value)]
