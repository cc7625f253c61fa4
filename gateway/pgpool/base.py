"""`DatabaseWrapper`: see the package docstring."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

log = logging.getLogger("gateway.db")


def draining_check(holder: dict[str, ConnectionPool]) -> Any:
    """The pool's ``check``: psycopg_pool's own; when it fails, drain the pool first (the
    server has restarted or gone: every other idle connection is as dead as this one)."""

    def check(conn: Any) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except Exception as exc:
            pool = holder.get("pool")
            if pool is not None:
                log.warning(
                    "gateway: a pooled PostgreSQL connection failed its check (%s);"
                    " draining the pool",
                    type(exc).__name__,
                )
                pool.drain()
            raise

    return check


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL wrapper whose pool drains itself on a failed health check."""

    @property
    def pool(self) -> ConnectionPool | None:
        options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not options:
            return None
        django: Any = self  # the stubs do not list the private members used below
        pools: dict[str, ConnectionPool] = django._connection_pools
        if self.alias not in pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # as Django's: it sets autocommit itself
            holder: dict[str, ConnectionPool] = {}
            pool = ConnectionPool(
                kwargs=connect_kwargs,
                open=False,
                configure=django._configure_connection,
                check=draining_check(holder) if self.settings_dict["CONN_HEALTH_CHECKS"] else None,
                **({} if options is True else options),
            )
            holder["pool"] = pools.setdefault(self.alias, pool)
        return pools[self.alias]
