"""The benchmark relay counts HTTP requests, however the bytes are cut into chunks."""

from __future__ import annotations

import pytest

from scripts.bench.netdelay import H2_PREFACE, RequestCounter

H1 = (
    b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    b'POST /v2/pipeline HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n{"requests": []}\n'
    b"POST /v2/pipeline HTTP/1.1\r\nHost: x\r\n\r\n"
    b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    b"GET /y HTTP/1.1\r\n\r\n"
)


def frame(kind: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, 0]) + stream.to_bytes(4, "big") + payload


H2 = (
    H2_PREFACE
    + frame(0x4, 0, b"\0" * 6)  # SETTINGS
    + frame(0x1, 1, b"h" * 20)  # HEADERS: a request
    + frame(0x0, 1, b"d" * 40)  # DATA
    + frame(0x1, 3, b"h" * 20)  # HEADERS: another
    + frame(0x1, 3, b"t" * 5)  # trailers of the same stream: not a request
)


@pytest.mark.parametrize("stream,expected", [(H1, 5), (H2, 2)], ids=["http/1.1", "http/2"])
@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
def test_requests_are_counted_in_any_chunking(stream: bytes, expected: int, size: int) -> None:
    counter = RequestCounter()
    counted = sum(counter.feed(stream[i : i + size]) for i in range(0, len(stream), size))
    assert counted == expected == counter.requests
