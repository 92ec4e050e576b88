"""Serving weijian with uvicorn: the one protocol tweak it needs.

With `--workers N` uvicorn hands each worker the listening socket, and the connections accepted from it
keep Nagle's algorithm on (asyncio sets TCP_NODELAY only on sockets it knows to be TCP; uvicorn issue
3149): every keep-alive answer then waits ~40 ms for the client's delayed ACK. The protocol below sets
TCP_NODELAY on each connection itself, as a single worker gets it anyway.
"""
from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # not a TCP socket after all
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
