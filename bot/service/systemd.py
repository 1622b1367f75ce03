"""systemd's notify protocol without a dependency: datagrams to $NOTIFY_SOCKET.

`Type=notify` units learn READY=1 when the daemon serves, STOPPING=1 when it begins to stop, and
WATCHDOG=1 pings at half of `WatchdogSec` (systemd passes it as $WATCHDOG_USEC); a daemon that
stops pinging (a hung loop) is restarted. Outside systemd ($NOTIFY_SOCKET unset) every call is a
no-op. An abstract socket name starts with "@" (sent as a leading NUL byte).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic):
        env = os.environ if environ is None else environ
        self.address = _address(env.get("NOTIFY_SOCKET", ""))
        # seconds between pings; None without a watchdog (or without systemd to ping)
        self.watchdog_interval = _interval(env, os.getpid()) if self.address else None
        self._clock = clock
        self._last_ping = float("-inf")

    @property
    def active(self) -> bool:
        return self.address is not None

    def send(self, message: str) -> bool:
        """Send one notification; False (logged) when systemd cannot be reached."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(message.encode("utf-8"))
        except OSError as exc:
            log.warning("SYSTEMD notify %r failed: %s", message, exc)
            return False
        return True

    def ready(self, status: str = "") -> None:
        self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def ping(self) -> None:
        """WATCHDOG=1 when half of WatchdogSec has passed since the last one; cheap to call often."""
        if self.watchdog_interval is None:
            return
        now = self._clock()
        if now - self._last_ping >= self.watchdog_interval:
            self._last_ping = now
            self.send("WATCHDOG=1")


def _address(value: str) -> str | bytes | None:
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    return value


def _interval(env: Mapping[str, str], pid: int) -> float | None:
    usec = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (owner and owner != str(pid)):
        return None
    return int(usec) / 1_000_000 / 2
