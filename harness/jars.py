"""Apache Kafka's broker jars from Maven Central, downloaded once into a user cache."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from harness.packages import ensure

KAFKA_VERSION = "3.9.1"
MAVEN_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.7.1:copy-dependencies"
MARKER = "libs.complete"

#: Kafka 3.9 logs through slf4j 1.7; without a backend the broker logs nothing at all.
LOGGING_DEPENDENCIES = (
    ("org.slf4j", "slf4j-reload4j", "1.7.36"),
    ("ch.qos.reload4j", "reload4j", "1.2.25"),
)


def cache_root() -> Path:
    """``$SAGA_CACHE_DIR`` or ``~/.cache/saga-platform``."""
    configured = os.environ.get("SAGA_CACHE_DIR", "").strip()
    return Path(configured) if configured else Path.home() / ".cache" / "saga-platform"


def render_pom(version: str = KAFKA_VERSION) -> str:
    """A throwaway pom whose runtime dependencies are exactly the broker's classpath."""
    deps = [("org.apache.kafka", "kafka_2.13", version), *LOGGING_DEPENDENCIES]
    lines = "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>"
        for g, a, v in deps
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>local.saga-platform</groupId><artifactId>kafka-jars</artifactId>\n"
        "  <version>1</version><packaging>pom</packaging>\n"
        f"  <dependencies>\n{lines}\n  </dependencies>\n"
        "</project>\n"
    )


def ensure_kafka_jars(
    version: str = KAFKA_VERSION, *, cache_dir: Path | None = None, out: TextIO = sys.stderr
) -> Path:
    """Return the folder holding every broker jar, downloading it first if needed.

    The jars are copied into a scratch folder that is renamed into place, and the
    marker file is written last, so an interrupted download is redone from scratch.
    A file lock keeps concurrent callers from downloading twice.
    """
    home = (cache_dir or cache_root()) / f"kafka-{version}"
    libs, marker = home / "libs", home / MARKER
    if marker.is_file() and libs.is_dir():
        return libs
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and libs.is_dir():
            return libs
        _download(version, home, out)
    return libs


def _download(version: str, home: Path, out: TextIO) -> None:
    mvn = ensure("java", "mvn")["mvn"]
    for stale in [home / "libs", *home.glob("libs.partial-*")]:
        shutil.rmtree(stale, ignore_errors=True)
    print(
        f"downloading Kafka {version} jars from Maven Central (~100 MB, once)...",
        file=out,
        flush=True,
    )
    partial = Path(tempfile.mkdtemp(prefix="libs.partial-", dir=home))
    with tempfile.TemporaryDirectory(prefix="saga-kafka-pom-") as scratch:
        (Path(scratch) / "pom.xml").write_text(render_pom(version))
        result = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                MAVEN_PLUGIN,
                "-DincludeScope=runtime",
                f"-DoutputDirectory={partial}",
            ],
            cwd=scratch,
            capture_output=True,
            text=True,
            check=False,
        )
    broker_jar = partial / f"kafka_2.13-{version}.jar"
    if result.returncode != 0 or not broker_jar.is_file():
        shutil.rmtree(partial, ignore_errors=True)
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(
            f"downloading the Kafka {version} jars failed (mvn exit {result.returncode}):\n{tail}"
        )
    partial.chmod(0o755)
    partial.rename(home / "libs")
    (home / MARKER).write_text(f"kafka {version}: {len(list((home / 'libs').iterdir()))} jars\n")
