"""`manage.py dlq`: list, show, redrive and discard dead letters (audited as cli:<user>)."""

from __future__ import annotations

import argparse
import getpass
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gateway.operations import bootstrap, presenters
from gateway.operations.models import DeadLetterRecord, DeadLetterStatus
from gateway.operations.selectors import DlqFilter, dead_letter_get, dead_letter_list
from gateway.operations.services import (
    ActionResult,
    AlreadyResolved,
    RedriveRefused,
    dead_letter_discard,
    dead_letter_redrive,
    dead_letters_discard,
    dead_letters_redrive,
)

COLUMNS = ("id", "status", "failedAt", "originalTopic", "consumerGroup", "errorType", "attempts")


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _filters(parser: argparse.ArgumentParser, *, status: bool) -> None:
    parser.add_argument("--topic", help="original topic, e.g. orders.v1")
    parser.add_argument("--error-type", help="error type, e.g. contracts.codec.ContractError")
    parser.add_argument("--group", help="consumer group that failed, e.g. payment")
    if status:
        parser.add_argument("--status", choices=DeadLetterStatus.values)
    parser.add_argument("--since", type=_when, help="failed at or after (ISO 8601, UTC if naive)")
    parser.add_argument("--until", type=_when, help="failed before (ISO 8601, UTC if naive)")


def _action(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument("id", nargs="?", help=f"{verb} this dead letter (row id or event id)")
    parser.add_argument(
        "--all", action="store_true", help=f"{verb} every pending dead letter matching the filters"
    )
    _filters(parser, status=False)


class Command(BaseCommand):
    help = "List, show, redrive or discard dead letters (orders.dlq.v1) as stored by the projector."

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        listing = actions.add_parser("list", help="dead letters, newest failure first")
        _filters(listing, status=True)
        listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
        listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
        show = actions.add_parser("show", help="one dead letter with its bytes, headers, history")
        show.add_argument("id", help="row id or event id")
        _action(actions.add_parser("redrive", help="send back to the original topic"), "redrive")
        _action(actions.add_parser("discard", help="mark handled without sending"), "discard")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = f"cli:{getpass.getuser()}"
        action = options["action"]
        if action == "list":
            self._list(options)
        elif action == "show":
            self._print(presenters.dead_letter_detail(self._record(options["id"])))
        else:
            self._act(action, options, actor)

    def _list(self, options: dict[str, Any]) -> None:
        rows = dead_letter_list(filters=_filter_of(options))[: options["limit"]]
        summaries = [presenters.dead_letter_summary(r) for r in rows]
        if options["json"]:
            for summary in summaries:
                self.stdout.write(json.dumps(summary))
            return
        table = [list(COLUMNS)] + [[str(s[c]) for c in COLUMNS] for s in summaries]
        widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
        for row in table:
            self.stdout.write(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )

    def _act(self, action: str, options: dict[str, Any], actor: str) -> None:
        given = {
            k: options[k] for k in ("topic", "error_type", "group", "since", "until") if options[k]
        }
        if options["id"]:
            if given or options["all"]:
                raise CommandError("give either an id or filters/--all, not both")
            record = self._record(options["id"])
            try:
                if action == "redrive":
                    outcome = dead_letter_redrive(
                        record_id=record.pk, actor=actor, publisher=bootstrap.publisher()
                    )
                else:
                    outcome = dead_letter_discard(record_id=record.pk, actor=actor)
            except (AlreadyResolved, RedriveRefused) as exc:
                raise CommandError(str(exc)) from None
        else:
            if not given and not options["all"]:
                raise CommandError("give an id, filters, or --all for every pending dead letter")
            filters = replace(_filter_of(options), status=DeadLetterStatus.PENDING)
            ids = list(dead_letter_list(filters=filters).values_list("id", flat=True))
            detail = {"filters": {k: str(v) for k, v in given.items()}, "all": options["all"]}
            if action == "redrive":
                outcome = dead_letters_redrive(
                    record_ids=ids, actor=actor, publisher=bootstrap.publisher(), detail=detail
                )
            else:
                outcome = dead_letters_discard(record_ids=ids, actor=actor, detail=detail)
        self._report(action, outcome, actor)

    def _report(self, action: str, outcome: ActionResult, actor: str) -> None:
        past = "redriven" if action == "redrive" else "discarded"
        for row in outcome.done:
            self.stdout.write(f"{past} {row.pk} ({row.event_id}) -> {row.original_topic}")
        for row, error in outcome.failed:
            self.stderr.write(f"not sent {row.pk} ({row.event_id}): {error}")
        for row, reason in outcome.refused:
            self.stderr.write(f"refused {row.pk} ({row.event_id}): {reason}")
        audit = ", ".join(str(e.pk) for e in outcome.audit) or "none"
        self.stdout.write(f"{len(outcome.done)} {past} by {actor}; audit entry {audit}")
        if outcome.failed:
            raise CommandError(f"{len(outcome.failed)} dead letter(s) were not sent")
        if outcome.refused:
            raise CommandError(f"{len(outcome.refused)} dead letter(s) refused: no redrive target")

    def _record(self, ref: str) -> DeadLetterRecord:
        record = dead_letter_get(ref=ref)
        if record is None:
            raise CommandError(f"no dead letter with id {ref!r}")
        return record

    def _print(self, body: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(body, indent=2))


def _filter_of(options: dict[str, Any]) -> DlqFilter:
    return DlqFilter(
        topic=options.get("topic"),
        error_type=options.get("error_type"),
        group=options.get("group"),
        status=options.get("status"),
        since=options.get("since"),
        until=options.get("until"),
    )
