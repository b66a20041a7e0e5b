"""A throw-away PostgreSQL cluster for the store tests (``initdb``/``pg_ctl`` in a temporary
folder, a free loopback port, run as an unprivileged user when we are root), and the
``store_url`` fixture that runs a test against SQLite and against PostgreSQL.

The server binaries come from Debian's ``postgresql`` package (``.ci/run`` installs it);
the PostgreSQL tests skip, saying why, only when no binaries can be found."""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_DATABASES = itertools.count(1)


def _postgres_bindir() -> Path | None:
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin"):
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
                return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresCluster:
    """A running throw-away cluster: ``url(database)`` names a database on it."""

    def __init__(self, bindir: Path, root: Path, port: int, user: str | None) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = port
        self.user = user

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--no-sync")  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                      "-t", "30", "stop")  # fmt: skip

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"test_{os.getpid()}_{next(_DATABASES)}"
        self._run(str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                  "postgres", "-d", "postgres", "-q", "-c", f"CREATE DATABASE {name}")  # fmt: skip
        return self.url(name)


def start_cluster() -> PostgresCluster | None:
    """A throw-away cluster, started (``None`` when no server binaries are installed);
    ``stop()`` and ``remove()`` it after use. Also used by benchmarks/bench_store.py."""
    bindir = _postgres_bindir()
    if bindir is None:
        return None
    user: str | None = None
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as an unprivileged user
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            user = name
            break
    root = Path(tempfile.mkdtemp(prefix="asyncdlms-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = PostgresCluster(bindir, root, _free_port(), user)
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        log = root / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        cluster.remove()
        raise RuntimeError(
            f"could not start a PostgreSQL cluster with {bindir}: "
            f"{exc.stderr.decode(errors='replace')} {detail}"
        ) from None
    return cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    pytest.importorskip("asyncpg", reason="the PostgreSQL store needs asyncpg ([postgres])")
    cluster = start_cluster()
    if cluster is None:
        pytest.skip(
            "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb): "
            "install Debian's postgresql package (apt-get install -y postgresql) to run "
            "the PostgreSQL store tests"
        )
    try:
        yield cluster
    finally:
        cluster.stop()
        cluster.remove()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A fresh, empty database on the throw-away cluster."""
    return postgres_cluster.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store: SQLite in a temporary folder, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'readings.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
