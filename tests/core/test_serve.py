"""Serving: connections of every worker answer without Nagle's delay; password checks run one at a time."""
from __future__ import annotations

import socket
import threading
import time

from weijian.accounts import service as accounts_service
from weijian.core.serve import NoDelayH11Protocol


class _Transport:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str, default=None):
        return {"socket": self.sock, "peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name, default)

    def set_protocol(self, _p) -> None:
        pass


def test_each_connection_gets_tcp_nodelay(monkeypatch):
    """A socket handed over by uvicorn's supervisor (proto 0) has Nagle on until the protocol turns it off."""
    monkeypatch.setattr("uvicorn.protocols.http.h11_impl.H11Protocol.connection_made", lambda self, t: None)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        NoDelayH11Protocol.__new__(NoDelayH11Protocol).connection_made(_Transport(sock))
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_password_checks_run_one_at_a_time(monkeypatch):
    running, peak, lock = [0], [0], threading.Lock()

    class Slow:
        def verify(self, _hash: str, _password: str) -> bool:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.02)
            with lock:
                running[0] -= 1
            return True

    monkeypatch.setattr(accounts_service, "_hasher", Slow())
    threads = [threading.Thread(target=accounts_service.verify_password, args=("h", "p")) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1
