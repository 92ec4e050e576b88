"""HTTP load on loopback (issue 11): `weijian serve` as a subprocess, many concurrent clients, SQLite and
PostgreSQL, and the figures the issue measured on the old code beside ours.

    .venv/bin/python bench/bench_http_load.py                      # 20 clients, 30 s a scenario, 3 set-ups
    .venv/bin/python bench/bench_http_load.py --quick              # 5 s a scenario (smoke run)
    .venv/bin/python bench/bench_http_load.py --setups sqlite:1 --clients 10 --duration 10 --output mine
    .venv/bin/python bench/bench_http_load.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Set-ups (`--setups`, default `sqlite:1,sqlite:2,postgres:2`): engine and `weijian serve --workers N`.
The demo county (`weijian db upgrade && weijian demo-data --residents 40000 --seed 1`) is built once into
a cache under --cache-dir (/tmp; rebuilt when the migrations or the demo builder change) and each set-up
serves a fresh copy of it, so the writes of one run never reach the next. PostgreSQL: the same county
built once into a template database, copied per set-up; without --postgres a throw-away cluster is started
on loopback by scripts/pg_test_cluster.sh (port 54341, data under --cache-dir) and stopped at the end.

Scenarios, each `--clients` clients for `--duration` seconds (every client one thread with its own
keep-alive connection, HTTP/1.1 parsed by hand):
  static                     `GET /static/app.css`: the client's own cost (no route behind it, only middleware)
  read                       `GET /api/v1/residents/{id}`, random residents of the county doctor's scope
  search                     `GET /api/v1/residents?q=` by surname, pinyin initials, identity number
  timeline                   `GET /api/v1/residents/{id}/timeline`
  read during login storm    the read, while --storm-clients clients send wrong passwords to
                             `POST /api/v1/auth/token` (argon2)
  read during excel export   the read, while --export-clients clients download the village x month export
                             (`GET /api/v1/indicators/export.xlsx?level=village&by_month=true`)
  write                      `POST /api/v1/encounters`: an outpatient visit
Before them each is run by one client alone (the quiet figures). Figures: req/s, p50/p95/max latency,
errors by kind (status codes, "database is locked" bodies, connection errors; a 500's cause from the
server's log), CPU per request of the client and of the server (all its workers). The goals compare the
reads during a storm or an export with the quiet read of the same clients (the `read` scenario).

With `--workers` > 1, uvicorn 0.54 leaves Nagle's algorithm on for the connections it accepts (uvicorn
issue 3149: the pre-bound socket's proto is 0, so asyncio never sets TCP_NODELAY), and each keep-alive
response after the first waits ~40 ms for the client's delayed ACK. `--fresh-connections` (a connection
per request) measures the server without that stall.

Only HTTP routes and the `weijian` command are used: nothing of the application is imported, so the
benchmark runs unchanged against another unit of work. Traffic goes to 127.0.0.1 only; every loop ends by
its deadline (and --max-requests), every request by --timeout. Writes bench/results/<--output>.json
(http_load.json). WEIJIAN_BENCH_SMALL=1 (`make bench` smoke runs) means --quick.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
PASSWORD = "demo-1234"  # the demo users' (DEMO ONLY)
DOCTOR = "xianyi"  # county doctor: the whole county in scope, full identity numbers, writes visits
BUREAU = "weijianju"  # bureau administrator: the indicator export
DEMO_USERS = ("cunyi", "xiangzhen", "xianyi", "weijianju", "admin")
SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗"
PLAIN_DIAGNOSES = ("J06.9", "K29.7", "J20.9", "M54.5", "K30", "J02.9")  # no chronic-disease programme
PG_PORT = 54341  # not the test suite's 54329: a test run may use that cluster meanwhile

# What issue 11 measured on the old code (not measured by this script): kept beside every run.
BASELINE = {
    "label": "measured in issue 11 on the old code (SQLite, 20 clients); not measured by this run",
    "record_read_20_clients_sqlite": {"req_per_s": 116, "p95_ms": 214, "max_ms": 4500},
    "search_20_clients_sqlite": {"req_per_s": 56, "p95_ms": 1200},
    "record_read_behind_one_excel_export": {"quiet_ms": 17, "waited_ms": [24000, 29000]},
    "record_read_during_login_storm_8_clients": {"quiet_ms": 6, "during_ms": 10700},
}
GOALS = {
    "record_read_p95_ms_sqlite_20_clients": 50,
    "postgres_2_workers_record_read_req_per_s": 500,
    "postgres_2_workers_record_read_req_per_s_stretch": 1000,
    "read_p95_during_storm_or_export_max_ratio_to_quiet": 2.0,
    "errors": 0,
}


# --- machine ------------------------------------------------------------------------------------
def python_loop_ns() -> float:
    """Nanoseconds per iteration of a trivial Python loop, now (as bench_indicators.py): this shared
    machine's speed varies by two or more within a day."""
    start = time.perf_counter()
    x = 0
    for i in range(5_000_000):
        x += i
    return round((time.perf_counter() - start) / 5_000_000 * 1e9, 1)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    if not samples_ms:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    s = sorted(samples_ms)
    q = statistics.quantiles(s, n=100, method="inclusive") if len(s) > 1 else s * 99
    return {"n": len(s), "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2),
            "max_ms": round(s[-1], 2), "mean_ms": round(statistics.fmean(s), 2)}


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants (the uvicorn workers), from /proc."""
    parent, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        parent[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo.extend(c for c, pp in parent.items() if pp == p)
    return total


# --- the command line and the databases ---------------------------------------------------------
def weijian(*args: str, url: str, log: Path) -> None:
    env = {**os.environ, "WEIJIAN_DATABASE_URL": url}
    with log.open("ab") as out:
        subprocess.run([str(BIN / "weijian"), *args], env=env, stdout=out, stderr=subprocess.STDOUT, check=True,
                       timeout=1800)


def cache_key(residents: int, seed: int) -> str:
    """A cached county is reused while the schema and the demo builder that made it are unchanged."""
    digest = hashlib.sha1(f"{residents}:{seed}".encode())
    src = ROOT / "src" / "weijian"
    for path in sorted([*(src / "migrations").rglob("*.py"), *(src / "demo").rglob("*")]):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(src).as_posix().encode())
            digest.update(path.read_bytes())
    return f"{residents}-seed{seed}-{digest.hexdigest()[:10]}"


def sqlite_copy(args: argparse.Namespace, tag: str) -> str:
    """The URL of a fresh copy of the cached SQLite county (built first when missing)."""
    key = cache_key(args.residents, args.seed)
    cached = args.cache_dir / f"demo-{key}.db"
    if not cached.exists():
        building = args.cache_dir / f"building-{key}-{os.getpid()}.db"
        url = f"sqlite:///{building}"
        print(f"building the demo county ({args.residents} residents, seed {args.seed}) into {cached} ...",
              flush=True)
        start = time.perf_counter()
        weijian("db", "upgrade", url=url, log=args.log)
        weijian("demo-data", "--residents", str(args.residents), "--seed", str(args.seed), url=url, log=args.log)
        for suffix in ("-wal", "-shm"):
            if Path(str(building) + suffix).exists():
                raise SystemExit(f"{building}{suffix} left behind: the build did not close cleanly")
        building.rename(cached)
        print(f"built in {time.perf_counter() - start:.0f} s", flush=True)
    run = args.cache_dir / f"run-{tag}-{os.getpid()}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(run) + suffix).unlink(missing_ok=True)
    shutil.copyfile(cached, run)
    url = f"sqlite:///{run}"
    weijian("db", "upgrade", url=url, log=args.log)  # a no-op while the cache is current
    return url


def _pg_conninfo(url: str, database: str | None = None) -> str:
    from sqlalchemy.engine import make_url  # the URL grammar only (a dependency, not the application)

    u = make_url(url)
    if database:
        u = u.set(database=database)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg(url: str, *statements: str) -> list:
    import psycopg

    with psycopg.connect(_pg_conninfo(url), autocommit=True) as conn:
        return [conn.execute(s).fetchall() if s.lstrip().upper().startswith("SELECT") else conn.execute(s)
                for s in statements]


def postgres_copy(args: argparse.Namespace, admin_url: str, tag: str) -> str:
    """The URL of a fresh database copied from the cached template county (built first when missing)."""
    from sqlalchemy.engine import make_url

    key = cache_key(args.residents, args.seed).replace("-", "_")
    template, building, run = f"weijian_load_tpl_{key}", f"weijian_load_building_{key}", f"weijian_load_run_{tag}"
    exists = _pg(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{template}'")[0]
    if not exists:
        print(f"building the demo county ({args.residents} residents, seed {args.seed}) on PostgreSQL ...",
              flush=True)
        start = time.perf_counter()
        _pg(admin_url, f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)',
            f"CREATE DATABASE \"{building}\" ENCODING 'UTF8' TEMPLATE template0")
        url = make_url(admin_url).set(database=building).render_as_string(hide_password=False)
        weijian("db", "upgrade", url=url, log=args.log)
        weijian("demo-data", "--residents", str(args.residents), "--seed", str(args.seed), url=url, log=args.log)
        _pg(admin_url, f'ALTER DATABASE "{building}" RENAME TO "{template}"')
        print(f"built in {time.perf_counter() - start:.0f} s", flush=True)
    _pg(admin_url, f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)', f'CREATE DATABASE "{run}" TEMPLATE "{template}"')
    url = make_url(admin_url).set(database=run).render_as_string(hide_password=False)
    weijian("db", "upgrade", url=url, log=args.log)
    _pg(_pg_conninfo(url), "ANALYZE")
    return url


class ThrowAwayCluster:
    """scripts/pg_test_cluster.sh on its own port and folder; stopped at the end only if started here."""

    def __init__(self, cache_dir: Path) -> None:
        self.env = {**os.environ, "PGTEST_PORT": str(PG_PORT), "PGTEST_DIR": str(cache_dir / f"pg-{PG_PORT}")}
        self.started = False

    def __enter__(self) -> str:
        with socket.socket() as s:
            running = s.connect_ex(("127.0.0.1", PG_PORT)) == 0
        url = subprocess.run(["sh", str(ROOT / "scripts" / "pg_test_cluster.sh"), "start"], env=self.env,
                             check=True, capture_output=True, text=True, timeout=120).stdout.strip()
        self.started = not running
        return url

    def __exit__(self, *exc: object) -> None:
        if self.started:
            subprocess.run(["sh", str(ROOT / "scripts" / "pg_test_cluster.sh"), "stop"], env=self.env,
                           timeout=120, check=False)


# --- the server ---------------------------------------------------------------------------------
class Server:
    """`weijian serve --workers N` on a free loopback port, its output in a log file."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.workers, self.log = workers, log
        self.out = log.open("ab")
        env = {**os.environ, "WEIJIAN_DATABASE_URL": url}
        self.proc = subprocess.Popen([str(BIN / "weijian"), "serve", "--host", "127.0.0.1", "--port",
                                      str(self.port), "--workers", str(workers)],
                                     env=env, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        self.log_start = log.stat().st_size
        deadline = time.perf_counter() + 90
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"weijian serve exited ({self.proc.returncode}); see {log}")
            if self.log_text().count("Application startup complete") >= workers and self._answers():
                return
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"weijian serve did not start within 90 s; see {log}")

    def _answers(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/static/app.css")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def log_text(self) -> str:
        with self.log.open("rb") as f:
            f.seek(self.log_start)
            return f.read().decode("utf-8", "replace")

    def cpu(self) -> float:
        return tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group of the server started above
                self.proc.wait(timeout=30)
        self.out.close()


# --- one client ---------------------------------------------------------------------------------
class ServerClosed(ConnectionError):
    """The server closed the keep-alive connection before or while answering."""


class Client:
    """One keep-alive HTTP/1.1 connection, parsed by hand: http.client costs about twice the client CPU per
    request, which on two cores is taken from the server. Reconnects after a failed request."""

    def __init__(self, port: int, timeout: float, fresh: bool = False) -> None:
        self.port, self.timeout, self.fresh = port, timeout, fresh
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.last_status = 0

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
             ) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buf.clear()
        lines = [f"{method} {path} HTTP/1.1", f"host: 127.0.0.1:{self.port}",
                 *(f"{k}: {v}" for k, v in (headers or {}).items())]
        if body is not None:
            lines.append(f"content-length: {len(body)}")
        if self.fresh:
            lines.append("connection: close")
        try:
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
            status, close, data = self._response()
        except BaseException:
            self.close()
            raise
        if close or self.fresh:
            self.close()
        self.last_status = status
        return status, data

    def _recv(self) -> None:
        chunk = self.sock.recv(1 << 18)
        if not chunk:
            raise ServerClosed("the server closed the connection")
        self.buf += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._recv()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _line(self) -> bytes:
        while (i := self.buf.find(b"\r\n")) < 0:
            self._recv()
        return self._take(i + 2)[:-2]

    def _response(self) -> tuple[int, bool, bytes]:
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._recv()
        head = self._take(end + 4).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip().lower()
        close = fields.get("connection") == "close"
        if "content-length" in fields:
            return status, close, self._take(int(fields["content-length"]))
        if fields.get("transfer-encoding") == "chunked":
            parts = []
            while size := int(self._line().split(b";")[0], 16):
                parts.append(self._take(size))
                self._take(2)
            while self._line():  # trailers
                pass
            return status, close, b"".join(parts)
        while True:  # no length: the body runs to the close
            try:
                self._recv()
            except ServerClosed:
                return status, True, self._take(len(self.buf))

    def json(self, method: str, path: str, payload: object = None, token: str | None = None,
             expect: int = 200) -> object:
        headers = {"accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        body = None
        if payload is not None:
            body, headers["content-type"] = json.dumps(payload).encode(), "application/json"
        status, data = self.send(method, path, body, headers)
        if status != expect:
            raise SystemExit(f"{method} {path}: {status} {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def error_kind(status: int, body: bytes) -> str:
    kind = f"HTTP {status}"
    if b"database is locked" in body:
        kind += " database is locked"
    elif status >= 500 and b"OperationalError" in body:
        kind += " OperationalError"
    return kind


# --- what the clients ask for -------------------------------------------------------------------
class Workload:
    """The requests of each kind, from residents, names and codes found through the API itself."""

    def __init__(self, client: Client, rng: random.Random) -> None:
        self.doctor = client.json("POST", "/api/v1/auth/token", {"username": DOCTOR, "password": PASSWORD})[
            "access_token"]
        self.bureau = client.json("POST", "/api/v1/auth/token", {"username": BUREAU, "password": PASSWORD})[
            "access_token"]
        people: dict[int, dict] = {}
        for surname in SURNAMES:
            for page in (1, 2, 3):
                got = client.json("GET", "/api/v1/residents?" + urlencode(
                    {"q": surname, "page_size": 100, "page": page}), token=self.doctor)
                people.update((r["id"], r) for r in got["items"])
                if len(got["items"]) < 100:
                    break
        self.resident_ids = sorted(i for i, r in people.items() if r["status"] == "active")
        if len(self.resident_ids) < 100:
            raise SystemExit(f"only {len(self.resident_ids)} residents found through the search")
        sample = rng.sample(self.resident_ids, min(300, len(self.resident_ids)))
        details = [client.json("GET", f"/api/v1/residents/{i}", token=self.doctor) for i in sample]
        from pypinyin import Style, lazy_pinyin  # the same library the application uses for initials

        self.queries = {
            "surname": sorted({r["name"][0] for r in people.values()} & set(SURNAMES)),
            "initials": sorted({"".join(lazy_pinyin(d["name"], style=Style.FIRST_LETTER)).lower()
                                for d in details}),
            "identity number": sorted({d["id_number"] for d in details if d.get("id_number")}),
        }
        if not all(self.queries.values()):
            raise SystemExit(f"no search terms of some kind: {self.queries}")
        years = Counter()
        for i in sample[:60]:
            got = client.json("GET", f"/api/v1/residents/{i}/timeline", token=self.doctor)
            years.update(item["date"][:4] for item in got["items"] if item["kind"] == "outpatient")
        if not years:
            raise SystemExit("no outpatient visits in the sampled timelines: the demo has no care year")
        self.year = int(years.most_common(1)[0][0])  # the demo's care year: the export's period
        born_before = f"{self.year}-01-01"
        self.writable = sorted(i for i, r in people.items() if r["status"] == "active"
                               and r["birth_date"] < born_before)
        self.diagnoses = []
        for code in PLAIN_DIAGNOSES:
            hits = client.json("GET", "/api/v1/icd10?" + urlencode({"q": code, "limit": 5}), token=self.doctor)
            self.diagnoses += [h["code"] for h in hits if h["code"] == code and not h.get("chronic")]
        if not self.diagnoses:
            raise SystemExit("none of the plain diagnoses is in the ICD-10 list")
        self.auth = {"authorization": f"Bearer {self.doctor}", "accept": "application/json"}
        self.bureau_auth = {"authorization": f"Bearer {self.bureau}", "accept": "application/json"}
        self.search_kinds = list(self.queries)

    # Each returns (method, path, body, headers, expected status).
    def static(self, rng: random.Random) -> tuple:
        return "GET", "/static/app.css", None, {}, 200

    def read(self, rng: random.Random) -> tuple:
        return "GET", f"/api/v1/residents/{rng.choice(self.resident_ids)}", None, self.auth, 200

    def search(self, rng: random.Random) -> tuple:
        q = rng.choice(self.queries[rng.choice(self.search_kinds)])
        return "GET", f"/api/v1/residents?q={quote(q)}", None, self.auth, 200

    def timeline(self, rng: random.Random) -> tuple:
        return "GET", f"/api/v1/residents/{rng.choice(self.resident_ids)}/timeline", None, self.auth, 200

    def write(self, rng: random.Random) -> tuple:
        total = rng.randint(2000, 30000)
        body = {"resident_id": rng.choice(self.writable), "type": "outpatient",
                "start_date": f"{self.year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "diagnoses": [rng.choice(self.diagnoses)], "total_cost": f"{total / 100:.2f}",
                "in_policy_cost": f"{total * rng.randint(60, 100) // 10000:.2f}"}
        return ("POST", "/api/v1/encounters", json.dumps(body).encode(),
                {**self.auth, "content-type": "application/json"}, 201)

    def wrong_password(self, rng: random.Random) -> tuple:
        body = {"username": rng.choice(DEMO_USERS), "password": f"wrong-{rng.randint(0, 10**9)}"}
        return ("POST", "/api/v1/auth/token", json.dumps(body).encode(),
                {"content-type": "application/json", "accept": "application/json"}, 401)

    def export(self, rng: random.Random) -> tuple:
        params = urlencode({"period": str(self.year), "level": "village", "by_month": "true"})
        return "GET", f"/api/v1/indicators/export.xlsx?{params}", None, self.bureau_auth, 200


# --- a scenario: clients of some roles, for a time ----------------------------------------------
class Role:
    def __init__(self, name: str, clients: int, make, *, measured: bool = True) -> None:
        self.name, self.clients, self.make, self.measured = name, clients, make, measured
        self.samples: list[list[tuple]] = []


def run_scenario(port: int, roles: list[Role], duration: float, args: argparse.Namespace, server: Server,
                 seed: int) -> dict:
    """The measured roles' clients run for `duration` seconds (at least one request each); the others
    (interference) start `lead` seconds earlier and stop when the measured ones are done."""
    measured_done = threading.Event()
    budget = itertools.count()  # one number per request across all clients: the --max-requests cap
    lead = 1.0 if any(not r.measured for r in roles) else 0.0
    start_gate = threading.Barrier(sum(r.clients for r in roles) + 1)
    threads = []

    def loop(role: Role, out: list, rng: random.Random) -> None:
        client = Client(port, args.timeout, fresh=args.fresh_connections)
        start_gate.wait()
        if role.measured and lead:
            time.sleep(lead)
        stop_at = time.perf_counter() + duration
        while True:
            now = time.perf_counter()
            if out and (measured_done.is_set() if not role.measured else now >= stop_at):
                break
            if next(budget) >= args.max_requests:
                break
            method, path, body, headers, expected = role.make(rng)
            t0 = time.perf_counter()
            try:
                status, data = client.send(method, path, body, headers)
                kind = None if status == expected else error_kind(status, data)
                sample = None if kind is None else data[:300].decode("utf-8", "replace")
            except OSError as exc:
                kind, sample = type(exc).__name__, str(exc)[:300]
                if client.last_status >= 500:  # uvicorn drops a connection whose request raised
                    kind += " (connection reused after a 5xx)"
                client.last_status = 0
            out.append((t0, time.perf_counter(), kind, sample))
        client.close()

    for r_index, role in enumerate(roles):
        for c in range(role.clients):
            out: list = []
            role.samples.append(out)
            t = threading.Thread(target=loop, args=(role, out, random.Random(seed * 1000 + r_index * 100 + c)),
                                 daemon=True)
            t.start()
            threads.append((role, t))
    log_before = len(server.log_text())
    cpu_client, cpu_server = time.process_time(), server.cpu()
    start_gate.wait()
    wall = time.perf_counter()
    for role, t in threads:
        if role.measured:
            t.join()
    measured_done.set()
    for role, t in threads:
        if not role.measured:
            t.join()
    wall = time.perf_counter() - wall
    cpu_client, cpu_server = time.process_time() - cpu_client, server.cpu() - cpu_server
    log = server.log_text()[log_before:]

    # The machine is shared: what else ran shows in the load (this run's own threads count in it too).
    out = {"seconds": round(wall, 2), "load_average_1m_after": round(os.getloadavg()[0], 2)}
    total = 0
    for role in roles:
        rows = [s for client in role.samples for s in client]
        total += len(rows)
        errors = Counter(kind for _, _, kind, _ in rows if kind)
        first, last = min(r[0] for r in rows), max(r[1] for r in rows)
        out[role.name] = {
            "clients": role.clients, "requests": len(rows),
            "req_per_s": round(len(rows) / (last - first), 1) if last > first else None,
            **percentiles([(t1 - t0) * 1000 for t0, t1, _, _ in rows]),
            "errors": sum(errors.values()), "error_kinds": dict(errors),
            "error_samples": sorted({s for *_, kind, s in rows if kind})[:3],
        }
    # uvicorn's supervisor (--workers > 1) kills a worker that misses its health check and starts another:
    # the requests in flight on it fail, and its CPU time leaves the process tree (so no server figure).
    restarts = len(re.findall(r"Child process \[\d+\] died", log))
    out["client_cpu_us_per_request"] = round(cpu_client / total * 1e6, 1)
    out["server_cpu_ms_per_request"] = None if restarts else round(cpu_server / total * 1000, 3)
    out["client_cpu_share_of_machine"] = round(cpu_client / (wall * (os.cpu_count() or 1)), 3)
    # A 500's body says only "Internal Server Error": the server's log says why.
    out["server_log"] = {
        "exceptions": log.count("Exception in ASGI application"),
        "database is locked": log.count("OperationalError) database is locked"),
        "5xx_access_lines": sum(1 for line in log.splitlines() if re.search(r'HTTP/1\.1" 5\d\d', line)),
        "workers_killed_and_restarted": restarts,
    }
    return out


# --- one set-up: engine and workers -------------------------------------------------------------
def run_setup(args: argparse.Namespace, engine: str, workers: int, url: str) -> dict:
    loop_ns = python_loop_ns()
    server = Server(url, workers, args.log)
    try:
        probe = Client(server.port, args.timeout)
        rng = random.Random(args.seed)
        work = Workload(probe, rng)
        probe.close()
        print(f"\n--- {engine}, {workers} worker(s), port {server.port}: {len(work.resident_ids)} residents "
              f"to read, {sum(map(len, work.queries.values()))} search terms, care year {work.year}", flush=True)
        # Warm every worker's caches and code paths (untimed).
        run_scenario(server.port, [Role(n, 4, getattr(work, n)) for n in ("read",)], args.warmup, args, server, 1)
        for name in ("search", "timeline", "write", "wrong_password"):
            run_scenario(server.port, [Role(name, 2, getattr(work, name))], args.warmup / 2, args, server, 2)

        quiet, load = {}, {}
        wanted = set(args.scenarios or ())
        for name in ("static", "read", "search", "timeline", "write", "wrong_password", "export"):
            if wanted and not any(name in w or (name, w) in (("wrong_password", "read during login storm"),
                                                              ("export", "read during excel export"))
                                  for w in wanted) and name != "read":
                continue
            r = run_scenario(server.port, [Role(name, 1, getattr(work, name))], args.quiet_duration, args, server, 3)
            quiet[name] = {**r[name], "client_cpu_us_per_request": r["client_cpu_us_per_request"],
                           "server_cpu_ms_per_request": r["server_cpu_ms_per_request"]}
            _line(f"quiet {name}", r[name])
        plans = {
            "static": [Role("static", args.clients, work.static)],
            "read": [Role("read", args.clients, work.read)],
            "search": [Role("search", args.clients, work.search)],
            "timeline": [Role("timeline", args.clients, work.timeline)],
            "read during login storm": [Role("read", args.clients, work.read),
                                        Role("wrong_password", args.storm_clients, work.wrong_password,
                                             measured=False)],
            "read during excel export": [Role("read", args.clients, work.read),
                                         Role("export", args.export_clients, work.export, measured=False)],
            "write": [Role("write", args.clients, work.write)],
        }
        for index, (name, roles) in enumerate(plans.items()):
            if args.scenarios and name not in args.scenarios:
                continue
            load[name] = run_scenario(server.port, roles, args.duration, args, server, 10 + index)
            for role in roles:
                _line(f"{name} [{role.name} x{role.clients}]", load[name][role.name])
    finally:
        server.stop()
    return {"engine": engine, "workers": workers, "care_year": work.year, "python_loop_ns": loop_ns,
            "residents_read": len(work.resident_ids), "search_terms": {k: len(v) for k, v in work.queries.items()},
            "quiet_single_client": quiet, "load": load, "goals": goals_of(engine, workers, load)}


def goals_of(engine: str, workers: int, load: dict) -> dict:
    read = load.get("read", {}).get("read", {})
    out: dict = {}
    if engine == "sqlite" and read:
        out["record_read_p95_below_50_ms"] = read["p95_ms"] < GOALS["record_read_p95_ms_sqlite_20_clients"]
    if engine == "postgresql" and workers == 2 and read:
        out["record_read_at_least_500_req_per_s"] = read["req_per_s"] >= 500
        out["record_read_at_least_1000_req_per_s (stretch)"] = read["req_per_s"] >= 1000
    for name in ("read during login storm", "read during excel export"):
        during = load.get(name, {}).get("read")
        if during and read:
            ratio = round(during["p95_ms"] / read["p95_ms"], 2)
            out[f"{name}: p95 / quiet read p95 = {ratio} (goal <= 2)"] = ratio <= 2
    errors = sum(role.get("errors", 0) for s in load.values() for role in s.values() if isinstance(role, dict))
    out[f"zero errors ({errors})"] = errors == 0
    return out


def _line(label: str, f: dict) -> None:
    print(f"{label:48} {f['req_per_s'] or 0:8.1f} req/s  p50 {f['p50_ms']:8.1f}  p95 {f['p95_ms']:8.1f}  "
          f"max {f['max_ms']:9.1f} ms  n {f['requests']:6}  errors {f['errors']} {f['error_kinds'] or ''}",
          flush=True)


def table(result: dict) -> str:
    lines = ["| set-up | scenario | clients | req/s | p50 ms | p95 ms | max ms | errors | client CPU us/req "
             "| server CPU ms/req |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in result["setups"]:
        name = f"{s['engine']} x{s['workers']}"
        for kind, f in s["quiet_single_client"].items():
            lines.append(f"| {name} | quiet: {kind} | 1 | {f['req_per_s']} | {f['p50_ms']} | {f['p95_ms']} | "
                         f"{f['max_ms']} | {f['errors']} {f['error_kinds'] or ''} | "
                         f"{f['client_cpu_us_per_request']} | {f['server_cpu_ms_per_request']} |")
        for scenario, r in s["load"].items():
            for role, f in r.items():
                if not isinstance(f, dict) or "clients" not in f:
                    continue
                lines.append(f"| {name} | {scenario} [{role}] | {f['clients']} | {f['req_per_s']} | {f['p50_ms']} | "
                             f"{f['p95_ms']} | {f['max_ms']} | {f['errors']} {f['error_kinds'] or ''} | "
                             f"{r['client_cpu_us_per_request']} | {r['server_cpu_ms_per_request']} |")
    return "\n".join(lines)


def _git_head() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except OSError:
        return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", default="sqlite:1,sqlite:2,postgres:2",
                        help="comma-separated engine:workers (engine sqlite or postgres)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per scenario")
    parser.add_argument("--quiet-duration", type=float, default=5.0, help="seconds per single-client scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="untimed seconds before the scenarios")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 s per scenario, 2 s quiet")
    parser.add_argument("--storm-clients", type=int, default=8, help="clients sending wrong passwords")
    parser.add_argument("--export-clients", type=int, default=2, help="clients downloading the Excel export")
    parser.add_argument("--scenarios", nargs="*", help="only these load scenarios (names as printed)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one request may take")
    parser.add_argument("--max-requests", type=int, default=500_000, help="cap per scenario, all clients")
    parser.add_argument("--fresh-connections", action="store_true",
                        help="a new connection per request (default: keep-alive, as browsers do): with "
                             "--workers > 1, uvicorn leaves Nagle on and each keep-alive response waits ~40 ms")
    parser.add_argument("--residents", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default=os.environ.get("WEIJIAN_BENCH_POSTGRES_URL"),
                        help="admin URL of a PostgreSQL server (default: a throw-away cluster on loopback)")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/weijian-bench-http-load"))
    parser.add_argument("--output", default="http_load", help="bench/results/<OUTPUT>.json")
    parser.add_argument("--note", default="", help="a line kept in the results (what code was measured)")
    args = parser.parse_args()
    if args.quick or os.environ.get("WEIJIAN_BENCH_SMALL") == "1":
        args.duration, args.quiet_duration, args.warmup = min(args.duration, 5.0), 2.0, 1.0
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    args.log = args.cache_dir / f"server-{os.getpid()}.log"
    sys.setswitchinterval(0.001)  # 20 client threads: a woken thread waits less for the GIL
    setups = [(e.strip(), int(w)) for e, w in (s.split(":") for s in args.setups.split(","))]

    loop_ns, load_before = python_loop_ns(), [round(x, 2) for x in os.getloadavg()]
    results = []
    cluster = None
    try:
        for engine, workers in setups:
            tag = f"{engine}{workers}"
            if engine == "sqlite":
                url = sqlite_copy(args, tag)
            elif engine == "postgres":
                if not args.postgres:
                    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
                        print("PostgreSQL server binaries not found: set-up skipped (apt-get install postgresql)")
                        continue
                    cluster = ThrowAwayCluster(args.cache_dir)
                    args.postgres = cluster.__enter__()
                url = postgres_copy(args, args.postgres, tag)
            else:
                raise SystemExit(f"unknown engine {engine!r}")
            result = run_setup(args, "postgresql" if engine == "postgres" else engine, workers, url)
            result["database"] = url.rsplit("/", 1)[-1]
            results.append(result)
            if engine == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            else:
                _pg(args.postgres, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[-1]}" WITH (FORCE)')
    finally:
        if cluster is not None:
            cluster.__exit__()

    out = {
        "benchmark": args.output,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": args.note,
        "code": _git_head(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "python_loop_ns": loop_ns, "python_loop_ns_after": python_loop_ns(),
        "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "settings": {"clients": args.clients, "duration_s": args.duration, "quiet_duration_s": args.quiet_duration,
                     "storm_clients": args.storm_clients, "export_clients": args.export_clients,
                     "fresh_connections": args.fresh_connections, "residents": args.residents,
                     "seed": args.seed, "timeout_s": args.timeout,
                     "client": "one thread and one keep-alive connection (HTTP/1.1 parsed by hand) per client, in "
                               "one process on the same machine as the server"},
        "baseline": BASELINE,
        "goals": GOALS,
        "setups": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{args.output}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print("\n" + table(out))
    print("\nbaseline (issue 11, old code, not measured here):", json.dumps(BASELINE, ensure_ascii=False))
    for s in results:
        print(f"goals, {s['engine']} x{s['workers']}:")
        for goal, met in s["goals"].items():
            print(f"  {'met    ' if met else 'NOT met'}  {goal}")
    print(f"\nwritten to {path.relative_to(ROOT)}; server log {args.log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
