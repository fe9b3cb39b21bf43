"""When a subject's waits are recovered, and how: a pure schedule, one per subject with waits.

Core NATS delivers at most once, so each subject with pending waits has recovery rounds:

- after a reconnect (``RECOVER``): at once, and once more 2 s later (in a cluster, interest in
  the renewed subscription takes a moment to reach every node). These rounds replay the
  subject from its JetStream stream, or ask the REST API where no stream covers it;
- while NATS is down (``DOWN``): the REST API after 1, 2, 4, ... s, up to every 30 s, so a long
  outage does not stall the waits;
- while all is well (``WATCH``): a slow safety net for answers the server failed to publish,
  asking the REST API after 60 s, doubling up to every 5 minutes.

Every round covers every wait of its subject: the cost of recovery grows with the number of
subjects, not of waits.
"""

from __future__ import annotations

import email.utils
import enum

__all__ = ["Round", "Schedule", "jittered", "server_clock_offset"]

_RECOVER_DELAYS = (0.0, 2.0)
_DOWN_FIRST, _DOWN_MAX = 1.0, 30.0
_WATCH_FIRST, _WATCH_MAX = 60.0, 300.0


class Round(enum.Enum):
    """What a recovery round asks."""

    #: Replay the subject from its JetStream stream (the REST API where none covers it).
    REPLAY = "replay"
    #: Ask the REST API for the subject's settled messages.
    REST = "rest"


class _Phase(enum.Enum):
    WATCH = "watch"
    DOWN = "down"
    RECOVER = "recover"


class Schedule:
    """The recovery rounds of one subject: :meth:`next_round` says when and which."""

    __slots__ = ("_phase", "_step")

    def __init__(self, *, disconnected: bool = False) -> None:
        self._phase = _Phase.DOWN if disconnected else _Phase.WATCH
        self._step = 0

    def disconnected(self) -> None:
        """NATS went down: poll the REST API, backing off."""
        self._phase, self._step = _Phase.DOWN, 0

    def reconnected(self) -> None:
        """NATS is back: recover what was missed, now."""
        self._phase, self._step = _Phase.RECOVER, 0

    @property
    def recovering(self) -> bool:
        """Whether rounds still replay what an outage may have dropped."""
        return self._phase is _Phase.RECOVER

    def next_round(self) -> tuple[float, Round]:
        """The delay until the next round (before jitter) and what it asks; advances."""
        step, self._step = self._step, self._step + 1
        if self._phase is _Phase.RECOVER:
            if step < len(_RECOVER_DELAYS):
                return _RECOVER_DELAYS[step], Round.REPLAY
            self._phase, step, self._step = _Phase.WATCH, 0, 1
        if self._phase is _Phase.DOWN:
            return min(_DOWN_FIRST * 2.0 ** min(step, 16), _DOWN_MAX), Round.REST
        return min(_WATCH_FIRST * 2.0 ** min(step, 16), _WATCH_MAX), Round.REST


def jittered(delay: float, fraction: float) -> float:
    """``delay`` shortened by up to a quarter (``fraction`` in [0, 1)), so that the rounds of
    many subjects and processes spread out instead of arriving together."""
    return delay * (1.0 - 0.25 * fraction)


def server_clock_offset(date: tuple[str, float] | None) -> float:
    """The server's clock minus this host's, from a response's ``Date`` header and when it
    came (to the second; 0 without one)."""
    if date is None:
        return 0.0
    try:
        return email.utils.parsedate_to_datetime(date[0]).timestamp() - date[1]
    except (TypeError, ValueError):
        return 0.0
