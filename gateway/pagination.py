"""Strict limit/offset paging: a bad ``limit`` or ``offset`` is a 400 naming it.

DRF's ``LimitOffsetPagination`` falls back to the default on a bad value and passes any
offset to the database (``offset=10**20`` overflowed PostgreSQL's bigint: a 500).
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

#: The largest offset accepted: far beyond any page a client needs, far below bigint.
MAX_OFFSET = 1_000_000_000
_DIGITS = re.compile(r"[0-9]{1,10}")


class StrictLimitOffsetPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500

    def get_limit(self, request: Request) -> int:
        assert self.default_limit is not None and self.max_limit is not None
        return self._number(request, self.limit_query_param, 1, self.max_limit, self.default_limit)

    def get_offset(self, request: Request) -> int:
        return self._number(request, self.offset_query_param, 0, MAX_OFFSET, 0)

    @staticmethod
    def _number(request: Request, name: str, low: int, high: int, default: int) -> int:
        raw: Any = request.query_params.get(name)
        if raw is None:
            return default
        if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
            message = f"Must be an integer from {low} to {high}."
            raise ValidationError({name: [ErrorDetail(message, code="invalid")]})
        return int(raw)
