"""Core state names (`held_assessing_charge`) to MEF ones (`held.assessingCharge`) and back."""

from enum import StrEnum
from functools import cache


def _key(value: str) -> str:
    return value.replace(".", "").replace("_", "").lower()


def to_mef(value: str, vocabulary: type[StrEnum]) -> str:
    """The MEF spelling of a core state, from the MEF enumeration it belongs to."""
    return _mef_spellings(vocabulary)[_key(value)]


def from_mef(value: str, core: type[StrEnum]) -> StrEnum:
    """The core state a MEF state name stands for."""
    return _core_states(core)[_key(value)]


@cache
def _mef_spellings(vocabulary: type[StrEnum]) -> dict[str, str]:
    return {_key(member.value): member.value for member in vocabulary}


@cache
def _core_states(core: type[StrEnum]) -> dict[str, StrEnum]:
    return {_key(member.value): member for member in core}
