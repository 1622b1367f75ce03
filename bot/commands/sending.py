"""Commands that queue mail also try to send it, so slips leave without waiting for the daemon."""

from __future__ import annotations

from bot.context import Runtime
from bot.outbox.queue import drain


def send_now(rt: Runtime) -> None:
    drain(rt.engine, rt.transport, rt.now, respect_backoff=False)
