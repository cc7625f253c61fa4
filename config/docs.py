"""``python -m config.docs > docs/configuration.md``: the configuration table, generated.

Every settings dataclass declares its fields with ``config.env.setting`` (the variable
and its default) followed by a docstring (the meaning); this module reads both and
prints one table per settings object. ``config/tests/test_docs.py`` fails when the
committed ``docs/configuration.md`` differs from what this prints, so the table cannot
drift from the code.

The settings classes are loaded by name (``SETTINGS``): this is a documentation build
step over every layer, and loading by name keeps ``config`` free of imports of the
layers above it. The gateway's Django settings are not a dataclass; its variables are
declared in ``GATEWAY`` below.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import textwrap
from collections.abc import Iterator

#: (title, "module:Class", note) of every settings object, in the order printed.
SETTINGS: tuple[tuple[str, str, str], ...] = (
    (
        "Platform (every process)",
        "config.env:PlatformSettings",
        "Where the infrastructure is. `make run` / `make test` start Kafka, PostgreSQL and "
        "Redis and export their addresses; the defaults are for a stack you run yourself.",
    ),
    (
        "Every worker",
        "streaming.settings:StreamingSettings",
        "Read by each worker for itself (`<SERVICE>` is `PAYMENT`, `INVENTORY`, `SAGA`, "
        "`NOTIFICATION`, `ANALYTICS` or `AUDITOR`).",
    ),
    ("Payment worker", "payment.settings:PaymentSettings", ""),
    ("Inventory worker", "inventory.settings:InventorySettings", ""),
    ("Saga worker", "saga.settings:SagaSettings", ""),
    ("Notification worker", "notification.settings:NotificationSettings", ""),
    ("Analytics worker", "analytics.settings:AnalyticsSettings", ""),
    ("Co-hosted worker (`sagactl run --cohost`)", "cohost.settings:CohostSettings", ""),
    ("Dashboard", "dashboard.settings:DashboardSettings", ""),
    ("Auditor", "auditor.settings:AuditorSettings", ""),
)

#: The gateway's variables (Django settings and management commands): name, default, meaning.
GATEWAY: tuple[tuple[str, str, str], ...] = (
    ("DJANGO_SECRET_KEY", "a dev-only key", "Django's secret key; set it anywhere but a laptop."),
    ("DJANGO_DEBUG", "0", "`1`: Django's debug mode."),
    (
        "DJANGO_ALLOWED_HOSTS",
        "localhost,127.0.0.1,[::1],gateway",
        "Comma-separated host names the gateway answers to.",
    ),
    ("GATEWAY_DB_POOL_MAX", "16", "Connections in the gateway's PostgreSQL pool, at most."),
    (
        "GATEWAY_REQUEST_THREADS",
        "GATEWAY_DB_POOL_MAX",
        "Threads that serve the gateway's requests, one at a time each (`gateway.handler`).",
    ),
    (
        "GATEWAY_ACCESS_LOG",
        "0",
        "`1`: daphne writes its access log (a line per request) to the gateway's output.",
    ),
    ("GATEWAY_MAX_BODY_BYTES", "65536", "Larger request bodies get `413`."),
    (
        "GATEWAY_OUTBOX_MAX_AGE_S",
        "30",
        "`/ready` answers 503 while the oldest unpublished outbox row is older (seconds).",
    ),
    (
        "LOG_LEVEL",
        "INFO",
        "The gateway's root log level. Set to `info` or `debug`, it also makes `sagactl run`"
        " stream every line of every process (as `-v` does).",
    ),
    (
        "ADMIN_USERNAME, ADMIN_PASSWORD",
        "(unset)",
        "The staff user `sagactl run` creates for the DLQ and fault APIs "
        "(`manage.py ensure_admin`).",
    ),
    ("GATEWAY_URL", "(empty)", "Where `manage.py dashboard_monitor` finds the gateway."),
)


@dataclasses.dataclass(frozen=True)
class Row:
    """One variable of one settings object."""

    variable: str
    default: str
    meaning: str
    field: str = ""


def load_class(path: str) -> type:
    module, _, name = path.partition(":")
    found = getattr(importlib.import_module(module), name)
    assert isinstance(found, type) and dataclasses.is_dataclass(found), path
    return found


def field_docs(cls: type) -> dict[str, str]:
    """The docstring after each field of ``cls`` (the string literal following it)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    for before, after in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(before, ast.AnnAssign)
            and isinstance(before.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[before.target.id] = inspect.cleandoc(after.value.value)
    return docs


def rows(cls: type) -> Iterator[Row]:
    """A row per field of ``cls`` read from a variable; nested settings are skipped (they
    have a table of their own)."""
    docs = field_docs(cls)
    for spec in dataclasses.fields(cls):
        env = spec.metadata.get("env")
        if env is None:
            continue
        meaning = docs.get(spec.name, "")
        yield Row(str(env), str(spec.metadata["default"]), _meaning(meaning, str(env)), spec.name)


def undocumented(cls: type) -> list[str]:
    """Fields of ``cls`` with neither a variable nor a settings object of their own, or
    without a docstring: each should be documented."""
    docs = field_docs(cls)
    missing = []
    for spec in dataclasses.fields(cls):
        nested = isinstance(spec.type, type) and dataclasses.is_dataclass(spec.type)
        nested = nested or str(spec.type).endswith("Settings")
        if (spec.metadata.get("env") is None and not nested) or not docs.get(spec.name):
            missing.append(f"{cls.__name__}.{spec.name}")
    return missing


def _meaning(doc: str, env: str) -> str:
    """The first paragraph of ``doc`` on one line, without a leading "``VAR``:"."""
    first = " ".join(doc.split("\n\n")[0].split())
    prefix = f"``{env}``:"
    if first.startswith(prefix):
        first = first[len(prefix) :].strip()
        first = first[:1].upper() + first[1:]
    return first.replace("``", "`").replace("|", "\\|")


def _table(rows: Iterator[Row] | list[Row], with_field: bool) -> list[str]:
    head = (
        "| variable | default | setting | meaning |"
        if with_field
        else "| variable | default | meaning |"
    )
    lines = [head, "|---|---|---|---|" if with_field else "|---|---|---|"]
    for row in rows:
        cells = [f"`{row.variable}`", f"`{row.default}`"]
        if with_field:
            cells.append(f"`{row.field}`")
        cells.append(row.meaning)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render() -> str:
    """The whole of ``docs/configuration.md``."""
    out = [
        "# Configuration",
        "",
        "<!-- Generated by `python -m config.docs > docs/configuration.md` from the settings",
        "     objects' field docstrings; config/tests/test_docs.py fails when it drifts. -->",
        "",
        "Every process reads its configuration from environment variables, once, at start;",
        "a bad value stops it with an error naming the variable. A blank variable means the",
        "default (except for lists, where empty is a value).",
    ]
    for title, path, note in SETTINGS:
        cls = load_class(path)
        module, _, name = path.partition(":")
        out += ["", f"## {title}", "", f"`{module}.{name}`." + (f" {note}" if note else ""), ""]
        out += _table(list(rows(cls)), with_field=True)
    out += ["", "## Gateway", "", "Django's `gateway/settings.py` and its management commands.", ""]
    out += _table([Row(v, d, m) for v, d, m in GATEWAY], with_field=False)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
