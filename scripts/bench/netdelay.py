"""A TCP relay that adds a round-trip time and counts the bytes it carries.

Used where the kernel cannot inject delay (no ``netem`` qdisc): every chunk is held for half
the round trip in each direction, ordering kept, and a new connection pays one extra round trip
before its first byte goes through (the TCP handshake the relay's local accept hides). It also
counts bytes, connections and HTTP requests (HTTP/1.1 request lines, and the streams an HTTP/2
client opens: libSQL's replication speaks gRPC over HTTP/2), which is how the benchmark
measures what a push sends and how many requests a write costs.

    python -m scripts.bench.netdelay --upstream HOST:PORT

prints ``LISTEN <port> CONTROL <port>`` and relays until killed. The control port takes one
line per connection: ``rtt <milliseconds>`` (answers ``ok``) or ``stats`` (answers JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

HOST = "127.0.0.1"
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H1_REQUEST_LINE = re.compile(rb"(?:get|post|put|patch|delete|head|options) \S+ http/1\.[01]")
H2_HEADERS = 0x1


class RequestCounter:
    """Counts the requests a client sends on one connection, fed its bytes in order: HTTP/2
    streams it opens, or HTTP/1.1 messages (heads, then bodies by Content-Length or chunks)."""

    def __init__(self, seen: Callable[[str], None] | None = None) -> None:
        self.seen = seen or (lambda what: None)  # told what each request is
        self.requests = 0
        self.buffer = b""
        self.http2: bool | None = None
        self.streams: set[int] = set()
        self.body_left = 0  # HTTP/1.1: bytes of the current body still to come
        self.chunked = False

    def feed(self, data: bytes) -> int:
        """Take the next bytes; returns how many requests they started."""
        before = self.requests
        self.buffer += data
        if self.http2 is None:
            if len(self.buffer) < len(H2_PREFACE) and H2_PREFACE.startswith(self.buffer):
                return 0
            self.http2 = self.buffer.startswith(H2_PREFACE)
            if self.http2:
                self.buffer = self.buffer[len(H2_PREFACE) :]
        if self.http2:
            self._frames()
        else:
            while self._message_part():
                pass
        return self.requests - before

    def _frames(self) -> None:
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                return
            kind = self.buffer[3]
            stream = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
            if kind == H2_HEADERS and stream and stream not in self.streams:
                self.streams.add(stream)
                self.requests += 1
                self.seen(f"HTTP/2 stream {stream}")
            self.buffer = self.buffer[9 + length :]

    def _message_part(self) -> bool:
        """Consume one part of an HTTP/1.1 message (a body's bytes, a chunk, a head); False
        when the buffer holds no whole part."""
        if self.body_left:
            taken = min(self.body_left, len(self.buffer))
            self.body_left -= taken
            self.buffer = self.buffer[taken:]
            return bool(taken) and not self.body_left
        if self.chunked:
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return False
            size = int(self.buffer[:end].split(b";")[0] or b"0", 16)
            if size == 0:  # the last chunk, then trailer lines up to an empty one
                close = self.buffer.find(b"\r\n\r\n", end)
                if close < 0:
                    return False
                self.buffer = self.buffer[close + 4 :]
                self.chunked = False
                return True
            if len(self.buffer) < end + 2 + size + 2:
                return False
            self.buffer = self.buffer[end + 2 + size + 2 :]
            return True
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head, self.buffer = self.buffer[:end].lower(), self.buffer[end + 4 :]
        if H1_REQUEST_LINE.match(head):
            self.requests += 1
            self.seen(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip() == b"content-length":
                self.body_left = int(value.strip() or b"0")
            elif name.strip() == b"transfer-encoding" and b"chunked" in value:
                self.chunked = True
        return True


class Relay:
    def __init__(self, upstream: tuple[str, int], *, log_requests: bool = False) -> None:
        self.upstream = upstream
        self.log_requests = log_requests
        self.one_way = 0.0  # seconds
        self.stats = {"bytes_up": 0, "bytes_down": 0, "connections": 0, "requests": 0}

    async def pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        counter: str,
        not_before: float,
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        connection = self.stats["connections"]

        def seen(what: str) -> None:
            if self.log_requests:
                print(f"{time.time():.3f} connection {connection}: {what}", file=sys.stderr)

        requests = RequestCounter(seen) if counter == "bytes_up" else None

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
                if requests is not None:
                    self.stats["requests"] += requests.feed(data)
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


async def serve(upstream: tuple[str, int], *, log_requests: bool = False) -> None:
    relay = Relay(upstream, log_requests=log_requests)
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
    parser.add_argument("--log-requests", action="store_true", help="each request on stderr")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve((host, int(port)), log_requests=args.log_requests))


if __name__ == "__main__":
    main()
