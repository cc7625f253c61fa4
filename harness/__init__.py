"""The infrastructure harness: Kafka, PostgreSQL and Redis started by the project itself
(`harness.stack.Stack`, over `kafka`, `postgres`, `redis`), and the platform's processes
supervised as one unit (`runner.Platform` over `supervisor`, the process table in
`services`, the `control` socket). Only the `sagactl` CLI and the tests import it.

Nothing is imported here, so the light modules (control, services, packages) load
without the servers' client libraries.
"""
