"""Load generator for bench/service.py: keep-alive HTTP/1.1 GETs from C concurrent connections
(raw asyncio streams, so the generator itself costs little CPU), run in its own process.

Usage: python bench/service_load.py HOST PORT TOKEN IDS_FILE CONNECTIONS SECONDS
Prints JSON: {"requests", "errors", "seconds", "rps", "p50_ms", "p99_ms"}.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time


async def _worker(
    host: str, port: int, token: str, ids: list[str], stop: float, lat: list[float], err: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    rnd = random.Random(id(lat) ^ len(lat))
    try:
        while time.perf_counter() < stop:
            sid = ids[rnd.randrange(len(ids))]
            req = (
                f"GET /footprints/{sid} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 200"):
                err.append(1)
    finally:
        writer.close()


async def _main(host: str, port: int, token: str, ids: list[str], conns: int, secs: float) -> None:
    lat: list[float] = []
    err: list[int] = []
    # warm-up (connections, caches), not measured
    await asyncio.gather(
        *[_worker(host, port, token, ids, time.perf_counter() + 1.0, [], []) for _ in range(conns)]
    )
    start = time.perf_counter()
    stop = start + secs
    await asyncio.gather(*[_worker(host, port, token, ids, stop, lat, err) for _ in range(conns)])
    elapsed = time.perf_counter() - start
    lat.sort()
    n = len(lat)
    print(
        json.dumps(
            {
                "requests": n,
                "errors": len(err),
                "seconds": elapsed,
                "rps": n / elapsed,
                "p50_ms": lat[n // 2] * 1000 if n else 0.0,
                "p99_ms": lat[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
            }
        )
    )


if __name__ == "__main__":
    h, p, tok, ids_file, c, s = sys.argv[1:7]
    with open(ids_file) as fh:
        shipment_ids = fh.read().split()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    asyncio.run(_main(h, int(p), tok, shipment_ids, int(c), float(s)))
