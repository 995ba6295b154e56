"""The load client of the API benchmarks, run in a process of its own.

Open loop (``--rate R``): request ``i`` is sent at ``start + i / R`` whatever has come
back, on the first free keep-alive connection (a new one is opened when all are busy, up
to 512; past that a request waits for one, and the wait counts in its latency),
and its latency is measured from that scheduled time, so a slow answer shows as the
queue it makes (no coordinated omission). Closed loop (``--rate 0``): ``--connections``
clients each send the next request when the last answer is in, as fast as the
server goes: its ceiling.

Raw HTTP/1.1 on asyncio streams (uvloop's event loop when installed): about 30
microseconds of client time per request. Prints one JSON line: requests sent and
answered, seconds, answers per second, latency percentiles in milliseconds and
errors by status.

    python benchmarks/loadgen.py --port 8000 --bodies bodies.jsonl --rate 500 --seconds 60 --key KEY
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import numpy as np


def _request(path: str, key: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _exchange(stream, payload: bytes) -> str:
    reader, writer = stream
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode()
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    await reader.readexactly(length)
    return status


class Client:
    def __init__(self, port: int, payloads: list[bytes]) -> None:
        self.port, self.payloads = port, payloads
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.idle: list = []

    async def connect(self):
        return await asyncio.open_connection("127.0.0.1", self.port)

    def record(self, status: str, elapsed: float) -> None:
        if status == "200":
            self.latencies.append(elapsed)
        else:
            self.errors[status] = self.errors.get(status, 0) + 1

    async def one(self, payload: bytes, scheduled: float) -> None:
        async with self.pool:  # a client's pool of connections: past it, a request waits its turn
            await self._send(payload, scheduled)

    async def _send(self, payload: bytes, scheduled: float) -> None:
        reused = bool(self.idle)
        try:
            stream = self.idle.pop() if reused else await self.connect()
        except OSError as exc:
            self.record(type(exc).__name__, 0)
            return
        try:
            status = await _exchange(stream, payload)
        except (OSError, asyncio.IncompleteReadError) as exc:
            stream[1].close()
            if not reused:
                self.record(type(exc).__name__, 0)
                return
            # the server closed a connection idle past its keep-alive: what any client does, once
            try:
                stream = await self.connect()
                status = await _exchange(stream, payload)
            except (OSError, asyncio.IncompleteReadError) as again:
                stream[1].close()
                self.record(type(again).__name__, 0)
                return
        self.record(status, time.perf_counter() - scheduled)
        self.idle.append(stream)

    async def open_loop(self, rate: float, seconds: float, connections: int, most: int = 512) -> float:
        self.idle = [await self.connect() for _ in range(connections)]
        self.pool = asyncio.Semaphore(most)
        tasks = []
        start = time.perf_counter() + 0.05  # the event loop's clock ticks in milliseconds under uvloop
        for i in range(int(rate * seconds)):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(self.one(self.payloads[i % len(self.payloads)], scheduled)))
        await asyncio.gather(*tasks)
        return time.perf_counter() - start

    async def closed_loop(self, seconds: float, connections: int) -> float:
        start = time.perf_counter()
        stop = start + seconds
        counter = iter(range(10**9))

        async def drive() -> None:
            stream = await self.connect()
            while time.perf_counter() < stop:
                sent = time.perf_counter()
                try:
                    status = await _exchange(stream, self.payloads[next(counter) % len(self.payloads)])
                except (OSError, asyncio.IncompleteReadError) as exc:
                    self.record(type(exc).__name__, 0)
                    stream = await self.connect()
                    continue
                self.record(status, time.perf_counter() - sent)
            stream[1].close()

        await asyncio.gather(*(drive() for _ in range(connections)))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bodies", required=True, help="JSON lines, one request body each")
    parser.add_argument("--rate", type=float, default=0, help="requests per second; 0: closed loop")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--path", default="/v1/applications/score")
    parser.add_argument("--key", default="")
    args = parser.parse_args()
    with open(args.bodies, "rb") as f:
        payloads = [_request(args.path, args.key, line.rstrip(b"\n")) for line in f if line.strip()]
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    client = Client(args.port, payloads)
    if args.rate > 0:
        took = asyncio.run(client.open_loop(args.rate, args.seconds, args.connections))
    else:
        took = asyncio.run(client.closed_loop(args.seconds, args.connections))
    ms = np.array(client.latencies) * 1000
    p = np.percentile(ms, [50, 95, 99, 99.9]).round(2).tolist() if len(ms) else [None] * 4
    json.dump({"rate": args.rate, "answered": len(ms), "seconds": round(took, 2),
               "throughput": round(len(ms) / took, 1), "p50": p[0], "p95": p[1], "p99": p[2], "p999": p[3],
               "max": round(float(ms.max()), 2) if len(ms) else None, "errors": client.errors}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
