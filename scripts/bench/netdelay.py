"""A TCP relay that adds a round-trip time and counts the bytes it carries.

Used where the kernel cannot inject delay (no ``netem`` qdisc): every chunk is held for half
the round trip in each direction, ordering kept, and a new connection pays one extra round trip
before its first byte goes through (the TCP handshake the relay's local accept hides). It also
counts bytes and connections, which is how the benchmark measures what a push sends.

    python -m scripts.bench.netdelay --upstream HOST:PORT

prints ``LISTEN <port> CONTROL <port>`` and relays until killed. The control port takes one
line per connection: ``rtt <milliseconds>`` (answers ``ok``) or ``stats`` (answers JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import time
from typing import Any

HOST = "127.0.0.1"


class Relay:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.one_way = 0.0  # seconds
        self.stats = {"bytes_up": 0, "bytes_down": 0, "connections": 0}

    async def pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        counter: str,
        not_before: float,
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                arrived, data = await queue.get()
                if not data:
                    break
                due = max(arrived, not_before) + self.one_way
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(OSError):
                if writer.can_write_eof():
                    writer.write_eof()

        sender = asyncio.create_task(send())
        try:
            while True:
                data = await reader.read(65536)
                self.stats[counter] += len(data)
                await queue.put((time.monotonic(), data))
                if not data:
                    break
        except OSError:
            await queue.put((time.monotonic(), b""))
        with contextlib.suppress(OSError):
            await sender

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats["connections"] += 1
        accepted = time.monotonic()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        sock = up_writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The handshake's round trip: nothing goes through before it would have completed.
        handshake_done = accepted + 2 * self.one_way
        await asyncio.gather(
            self.pump(reader, up_writer, "bytes_up", handshake_done),
            self.pump(up_reader, writer, "bytes_down", handshake_done),
            return_exceptions=True,
        )
        for w in (writer, up_writer):
            with contextlib.suppress(OSError):
                w.close()

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).decode().split()
        answer: Any = {"error": "unknown command"}
        if line[:1] == ["rtt"] and len(line) == 2:
            self.one_way = float(line[1]) / 2000
            answer = "ok"
        elif line[:1] == ["stats"]:
            answer = {**self.stats, "rtt_ms": self.one_way * 2000}
        writer.write((json.dumps(answer) + "\n").encode())
        await writer.drain()
        writer.close()


async def serve(upstream: tuple[str, int]) -> None:
    relay = Relay(upstream)
    server = await asyncio.start_server(relay.handle, HOST, 0)
    control = await asyncio.start_server(relay.control, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    control_port = control.sockets[0].getsockname()[1]
    print(f"LISTEN {port} CONTROL {control_port}", flush=True)
    async with server, control:
        await asyncio.gather(server.serve_forever(), control.serve_forever())


def ask(control_port: int, command: str) -> Any:
    """Send one control command to a running relay; returns its decoded answer."""
    with socket.create_connection((HOST, control_port), timeout=5) as sock:
        sock.sendall(command.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve((host, int(port))))


if __name__ == "__main__":
    main()
