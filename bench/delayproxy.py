"""A TCP proxy on loopback that holds every chunk a fixed time in each direction.

It puts the rig's SMTP server "across the internet" for a benchmark: a client that waits for each
reply before its next command pays the round trip (twice the delay) per command, as it does
against a provider's server, while the servers and the client still run on this machine.
Chunks keep their order and are not slowed otherwise (no bandwidth limit, no loss).
"""

from __future__ import annotations

import asyncio
import socket
import threading


class DelayProxy:
    """`with DelayProxy(("127.0.0.1", 2525), delay=0.010) as port:` connect to 127.0.0.1:port."""

    def __init__(self, target: tuple[str, int], delay: float, host: str = "127.0.0.1"):
        self.target, self.delay, self.host = target, delay, host
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="delay-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()  # of the connections open now
        self._handlers: set[asyncio.Task] = set()

    def __enter__(self) -> int:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._connection, self.host, 0), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def __exit__(self, *exc) -> None:
        async def stop() -> None:
            self._server.close()
            for writer in self._writers:  # connections still open end here: their pipes see EOF
                writer.transport.abort()
            await asyncio.gather(*self._handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        pair = {client_w, server_w}
        handler = asyncio.current_task()
        self._writers |= pair
        self._handlers.add(handler)
        for writer in pair:
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w),
                                 return_exceptions=True)
        finally:
            self._writers -= pair
            self._handlers.discard(handler)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Everything read from `reader` is written to `writer` `delay` seconds later, in order."""
        loop = asyncio.get_running_loop()
        held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def release() -> None:
            while True:
                due, data = await held.get()
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                if not data:
                    break
                if writer.is_closing():
                    break
                writer.write(data)
                await writer.drain()
            writer.close()

        releasing = asyncio.create_task(release())
        try:
            while data := await reader.read(65536):
                held.put_nowait((loop.time() + self.delay, data))
        except OSError:
            pass
        finally:
            held.put_nowait((loop.time() + self.delay, b""))
            await releasing
