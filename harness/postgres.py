"""A throwaway PostgreSQL cluster on a free loopback port, tuned for speed over durability.

Authenticated like a deployed one: ``scram-sha-256`` for every connection (no
``trust``), a random password for the superuser (used only here, to create roles and
databases), and the platform connects as ``APP_ROLE``, a role that is not superuser:
it owns its databases and may create more (``CREATEDB``: Django's test databases).
``url`` carries the app role's credentials.
"""

from __future__ import annotations

import os
import pwd
import secrets
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from harness.packages import ensure
from harness.ports import LOOPBACK, free_port
from harness.process import ChildProcess, StartupError
from harness.server import LocalServer
from harness.waiting import wait_until

SUPERUSER = "postgres"
#: The role the platform connects as: owns its databases, not superuser.
APP_ROLE = "saga"
#: PostgreSQL refuses to run as root; as root we run it as Debian's ``postgres`` user.
SYSTEM_USER = "postgres"
READY = "database system is ready to accept connections"
#: A throwaway cluster: losing it on a crash is fine, waiting for disks is not.
SPEED_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresServer(LocalServer):
    """``initdb`` + ``postgres`` with password auth; the role ``saga`` and its database
    ``saga`` are created on start."""

    def __init__(
        self,
        *,
        base_dir: Path | None = None,
        port: int | None = None,
        database: str = "saga",
        startup_timeout: float = 60.0,
    ) -> None:
        self.port = port or free_port()
        self.database = database
        self.startup_timeout = startup_timeout
        self.run_as = SYSTEM_USER if os.geteuid() == 0 else None
        self.dir = Path(tempfile.mkdtemp(prefix="postgres-", dir=self._reachable(base_dir)))
        self.superuser_password = secrets.token_hex(16)
        self.password = secrets.token_hex(16)
        super().__init__()
        self.startup_seconds: float | None = None

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql://{APP_ROLE}:{self.password}@{LOOPBACK}:{self.port}/{database}"

    def start(self) -> None:
        tools = ensure("initdb", "postgres")
        began = time.monotonic()
        data = self.dir / "data"
        sockets = self.dir / "sockets"
        if self.run_as:
            _give_to(self.dir, self.run_as)
        if not (data / "PG_VERSION").exists():
            self._initdb(tools["initdb"], data)
        sockets.mkdir(exist_ok=True)
        if self.run_as:
            _give_to(sockets, self.run_as)
        argv = [
            tools["postgres"],
            "-D",
            str(data),
            "-p",
            str(self.port),
            "-h",
            LOOPBACK,
            "-k",
            str(sockets),
        ]
        for setting in SPEED_SETTINGS:
            argv += ["-c", setting]
        # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for clients to leave.
        self._process = ChildProcess(
            "postgres",
            argv,
            self.dir / "postgres.log",
            cwd=self.dir,
            user=self.run_as,
            stop_signal=signal.SIGINT,
            signal_group=False,  # the postmaster stops its own children, in order
        )
        self._process.start()
        try:
            self._process.wait_for_output(READY, self.startup_timeout)
            wait_until(
                self._accepts, timeout=self.startup_timeout, what=f"PostgreSQL on port {self.port}"
            )
            self._create_app_role()
            self.create_database(self.database)
        except BaseException:
            self._process.stop(timeout=10)
            raise
        self.startup_seconds = time.monotonic() - began

    def create_database(self, name: str) -> str:
        """Create database ``name`` (owned by the app role) unless it exists; its URL."""
        with self._connect() as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(APP_ROLE)
                    )
                )
        return self.url_for(name)

    def _create_app_role(self) -> None:
        with self._connect() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
            verb = "ALTER" if exists.fetchone() else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN CREATEDB NOSUPERUSER PASSWORD {}").format(
                    sql.Identifier(APP_ROLE), sql.Literal(self.password)
                )
            )

    def _initdb(self, initdb: str, data: Path) -> None:
        pwfile = self.dir / "superuser.pw"
        pwfile.write_text(self.superuser_password + "\n")
        pwfile.chmod(0o600)
        if self.run_as:
            _give_to(pwfile, self.run_as)
        argv = [
            initdb,
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]
        gid = pwd.getpwnam(self.run_as).pw_gid if self.run_as else None
        try:
            result = subprocess.run(
                argv,
                cwd=self.dir,
                capture_output=True,
                text=True,
                check=False,
                user=self.run_as,
                group=gid,
                extra_groups=[] if self.run_as else None,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StartupError(
                f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=LOOPBACK,
            port=self.port,
            user=SUPERUSER,
            password=self.superuser_password,
            dbname="postgres",
            connect_timeout=5,
            autocommit=True,
        )

    def _accepts(self) -> bool:
        if self._process is not None:
            self._process.raise_if_dead()
        try:
            with self._connect():
                return True
        except psycopg.OperationalError:
            return False

    def _reachable(self, base_dir: Path | None) -> Path | None:
        """``base_dir`` if the server's user can reach it, else the system temp folder."""
        if base_dir is None or self.run_as is None:
            return base_dir
        user = pwd.getpwnam(self.run_as)
        for folder in [Path(base_dir).resolve(), *Path(base_dir).resolve().parents]:
            st = folder.stat()
            if st.st_uid != user.pw_uid and not st.st_mode & stat.S_IXOTH:
                return None
        return base_dir


def _give_to(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
