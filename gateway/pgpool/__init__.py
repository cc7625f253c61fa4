"""The gateway's PostgreSQL backend: Django's, with a pool that gets over a server restart
at once.

Django's pool (``OPTIONS["pool"]``, psycopg_pool) with ``CONN_HEALTH_CHECKS`` checks each
connection before handing it out, but after a PostgreSQL restart every idle connection in
it is dead and the pool discards them one per check, sleeping 1, 2, 4... s between
checks: measured with 8 idle connections, the first request after a 0.2 s restart waited
its whole 10 s pool timeout and failed, the next one took 3 s. Here a failed check drains
the pool (every idle connection closed, new ones opened, connections in use replaced when
returned), so the first request after the restart gets a new connection after one ~1 s
pause. ``reconnect_timeout`` (settings) keeps reconnection attempts made during an outage
short, so none is still backing off long after the server is back.

``ENGINE = "gateway.pgpool"``; everything else is Django's PostgreSQL backend.
"""
