"""What the clients do across ``os.fork()`` (gunicorn ``--preload``, Celery prefork,
multiprocessing's ``fork`` start method).

A forked child inherits copies of the parent's event loops, loop threads' state and sockets,
but not the threads themselves. The child must use none of them: its event loop thread does
not exist, and a socket (or epoll instance) is shared with the parent, so writing to it, reading
from it, or even unregistering it in the child corrupts the parent's connections. So:

- :data:`generation` counts forks in this process's ancestry; a client compares it with the
  value it bound at, and opens new connections when it changed.
- The parent's objects are handed to :func:`keep_inherited` in the child and kept for the
  child's lifetime: never closed, and never garbage-collected (a finalizer could close an
  inherited TLS socket with a close_notify, or unregister it from the shared epoll instance).
- :class:`ForkAware` objects are told before and after each fork (the sync client holds its
  loop thread still meanwhile, so no half-done step is copied into the child).
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["ForkAware", "generation", "keep_inherited", "register"]

#: Bumped in every forked child.
generation = 0

_inherited: list[object] = []


class ForkAware(Protocol):
    def before_fork(self) -> None: ...

    def after_fork_in_parent(self) -> None: ...

    def after_fork_in_child(self) -> None: ...


_registered: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def register(obj: ForkAware) -> None:
    """Call ``obj``'s hooks around every fork while ``obj`` is alive."""
    _registered.add(obj)


def keep_inherited(*objects: object) -> None:
    """In a forked child: keep the parent's ``objects`` alive and untouched for good."""
    _inherited.extend(objects)


def _before() -> None:
    for obj in list(_registered):
        obj.before_fork()


def _after_in_parent() -> None:
    for obj in list(_registered):
        obj.after_fork_in_parent()


def _after_in_child() -> None:
    global generation
    generation += 1
    for obj in list(_registered):
        obj.after_fork_in_child()


os.register_at_fork(
    before=_before, after_in_parent=_after_in_parent, after_in_child=_after_in_child
)
