"""Which consumed records a consumer lets in: the one rule every worker's guard
(``streaming.guard``) and the projector (``gateway.projector``) apply before a handler.

``admit(key, value, headers, group=...)`` decides, without touching any state:

- **skip**: a redrive meant for another consumer group. A redrive (``redrive_of`` in
  ``gateway.operations.domain``) sets both ``redrive.group`` (the group that failed) and
  ``redrive.id`` (the dead letter's event id); the other groups had handled the record
  already. The header is honoured only when ``redrive.group`` names a consumer group of
  the platform (``CONSUMER_GROUPS``, or the reader's own) and ``redrive.id`` is a UUID.
  Anything else (a group that does not exist, no id, bytes that are not UTF-8) is a
  forged or broken header and is ignored: the record is processed normally, so a header
  can at worst deliver a record twice (consumers are idempotent), never make every
  group skip it.
- **dead-letter** (with a ``ContractError``): a value that is no valid event, or an order
  event whose Kafka key is not its ``order_id`` (no key included). Saga topics are
  co-partitioned on the order id: a record keyed ``a`` for order ``b`` sits on the wrong
  partition for ``b``'s state, so it must not be processed.
- **process**: everything else; ``event`` is the decoded event.

Pure: no Faust, Kafka or Django. Deterministic, so every group decides alike.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from contracts.codec import ContractError, decode
from contracts.events import AnyEvent, OrderEvent
from contracts.failures import REDRIVE_GROUP, REDRIVE_ID, Headers, header

#: The consumer groups of the platform (each service's default group, and the
#: projector's). A deployment that renames a group still recognises redrives for its
#: own name (``group``); a redrive naming a renamed *other* group is then processed by
#: every group rather than skipped: a duplicate, never a loss.
CONSUMER_GROUPS: frozenset[str] = frozenset(
    {"payment", "inventory", "saga", "notification", "analytics", "auditor", "projector"}
)

#: Longest key or order id quoted in a reason.
_QUOTE = 80


class Verdict(enum.Enum):
    PROCESS = "process"
    SKIP = "skip"
    DEAD_LETTER = "dead-letter"


@dataclass(frozen=True)
class Admission:
    """What to do with one record: ``verdict``, why (``reason``), the decoded ``event``
    (when processed) and the ``error`` a dead letter records."""

    verdict: Verdict
    reason: str = ""
    event: AnyEvent | None = None
    error: ContractError | None = None

    @property
    def skipped(self) -> bool:
        return self.verdict is Verdict.SKIP

    @property
    def invalid(self) -> ContractError:
        """Why the record is dead-lettered (its ``error``)."""
        return self.error or ContractError(self.reason)


def admit(
    key: bytes | str | None, value: object, headers: Headers, *, group: str | None
) -> Admission:
    """Decide whether the consumer group ``group`` processes this record (see the module
    docstring); ``group=None`` (a guard without failure routing, in unit tests) never
    skips a redrive."""
    if group is not None:
        target = redrive_target(headers, group)
        if target is not None and target != group:
            return Admission(Verdict.SKIP, f"a redrive for the group {target!r}")
    try:
        event = _decode(value)
    except ContractError as exc:
        return Admission(Verdict.DEAD_LETTER, str(exc), error=exc)
    if isinstance(key, str):  # a client that hands keys over as text
        key = key.encode()
    if isinstance(event, OrderEvent) and key != event.order_id.encode():
        error = ContractError(
            f"key {_quoted(key)} is not the order id {event.order_id[:_QUOTE]!r} of this "
            f"{type(event).__name__}: order events are keyed by their order id "
            "(co-partitioning)"
        )
        return Admission(Verdict.DEAD_LETTER, str(error), error=error)
    return Admission(Verdict.PROCESS, event=event)


def redrive_target(headers: Headers, group: str) -> str | None:
    """The consumer group a genuine redrive is meant for, or None when the record is
    no redrive or its redrive headers are not to be honoured."""
    raw_group = header(headers, REDRIVE_GROUP)
    if raw_group is None:
        return None
    raw_id = header(headers, REDRIVE_ID)
    if raw_id is None or len(raw_id) > 36:
        return None
    try:
        target = raw_group.decode()
        uuid.UUID(raw_id.decode())
    except (UnicodeDecodeError, ValueError):
        return None
    if target != group and target not in CONSUMER_GROUPS:
        return None
    return target


def _decode(value: object) -> AnyEvent:
    if not isinstance(value, bytes | bytearray | memoryview | str):
        raise ContractError(f"message value is {type(value).__name__}, not bytes")
    return decode(value)


def _quoted(key: bytes | None) -> str:
    if key is None:
        return "(none)"
    return repr(bytes(key[:_QUOTE]))
