"""What the room's hub hands to its pages: room codes, the plain error a bad one gets, and the
states of a run and of a place in the queue (plain data: they cross to the app processes).
:mod:`~wae_core.live.hub` holds the runs they describe."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wae_core.errors import UserFacingError

from .groups import GroupSnapshot

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read off a projector
CODE_LENGTH = 6


class RoomError(UserFacingError, LookupError):
    """A room code that leads to no run, or a run that has ended (one plain sentence)."""


def normalize_code(text: str) -> str:
    """A typed code as stored: upper case, spaces and dashes dropped; a plain error otherwise."""
    code = re.sub(r"[\s-]", "", str(text or "")).upper()
    if not re.fullmatch(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}", code):
        raise RoomError(f"A room code has {CODE_LENGTH} letters and digits (like K7QX2M); check "
                        "the code on the lecturer's screen.")
    return code


@dataclass
class RunState:
    """What a page shows about a run besides its plots."""

    run_id: str
    step: int
    running: bool
    status: str  # "" or why the run paused itself
    code: str  # its room code, "" when not shared
    watchers: int  # sessions other than the owner that polled it within the heartbeat
    queue_position: int = 0  # 1-based place in the queue, 0 when not waiting
    queue_length: int = 0
    eta: float | None = None  # seconds until it starts, when waiting (None: unknown)

    @property
    def queued(self) -> bool:
        return self.queue_position > 0


@dataclass
class Ticket:
    """A place to train an image model (Train your own): granted, or where it waits."""

    granted: bool
    queue_position: int = 0
    queue_length: int = 0
    eta: float | None = None  # seconds until it is granted, when waiting (None: unknown)


@dataclass
class Frame:
    state: RunState
    version: int  # a new number for every new snapshot of the run
    snapshot: GroupSnapshot | None  # None when the caller already holds ``version``
