"""Who holds a claim (a mailbox lease, an outbox row being sent): `host:pid`, so that a process
restarted after a crash can take over at once from its dead predecessor on the same host."""

from __future__ import annotations

import os
import socket


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_dead(holder: str) -> bool:
    """True only when the holder ran on this host and its process is gone; unknown means alive."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
