"""``MemoryStore``: the pure domain on dictionaries, the fake store of the fast tests.

It behaves like ``RedisStore`` (the integration tests compare them step by step) but
lives in one process, so it proves nothing about atomicity across workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from inventory.catalog import Product
from inventory.domain import (
    Consumed,
    Counters,
    Level,
    OrderRecord,
    evolve,
    restocked,
    stocked,
    touched,
)
from inventory.store import Applied, SeedAction, Seeded, SeedMode

_TICK = timedelta(microseconds=1)


class MemoryStore:
    """Stock, product details and order records in dictionaries."""

    def __init__(
        self,
        products: Sequence[Product] = (),
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.clock = clock
        self.stock: dict[str, Counters] = {}
        self.details: dict[str, Product] = {}
        self.versions: dict[str, datetime] = {}
        self.records: dict[str, OrderRecord] = {}
        #: How many events were applied.
        self.applied = 0
        if products:
            self._seed(products, mode="create")

    async def apply(self, event: Consumed) -> Applied:
        """Apply one event (``domain.evolve``); bump the version of every changed product."""
        self.applied += 1
        now = self.clock()
        before = self.records.get(event.order_id)
        record, stock = evolve(before, self.stock, event, at=now)
        for product_id, counters in stock.items():
            if self.stock.get(product_id) != counters:
                self._bump(product_id, now)
        self.stock = stock
        if record is not None:
            self.records[event.order_id] = record
        return Applied(record, tuple(self._level(p) for p in touched(record)))

    async def seed(self, products: Sequence[Product], *, mode: SeedMode) -> list[Seeded]:
        """Like ``RedisStore.seed``."""
        return self._seed(products, mode=mode)

    async def counters(self, product_ids: Iterable[str] | None = None) -> dict[str, Counters]:
        ids = sorted(self.stock) if product_ids is None else list(product_ids)
        return {p: self.stock[p] for p in ids if p in self.stock}

    async def levels(self, product_ids: Iterable[str] | None = None) -> list[Level]:
        ids = sorted(self.stock) if product_ids is None else list(product_ids)
        return [self._level(p) for p in ids if p in self.stock]

    async def order(self, order_id: str) -> OrderRecord | None:
        return self.records.get(order_id)

    def _seed(self, products: Sequence[Product], *, mode: SeedMode) -> list[Seeded]:
        now = self.clock()
        out = []
        for p in products:
            current = self.stock.get(p.product_id)
            action: SeedAction = "kept"
            if current is None:
                self.stock[p.product_id] = stocked(p.stock)
                action = "created"
            elif mode == "restock":
                unchanged = current.available == p.stock and self._same(p)
                action = "unchanged" if unchanged else "restocked"
                self.stock[p.product_id] = restocked(current, p.stock)
            if action in ("created", "restocked"):
                self.details[p.product_id] = p
                self._bump(p.product_id, now)
            out.append(Seeded(action, self._level(p.product_id)))
        return out

    def _same(self, product: Product) -> bool:
        known = self.details[product.product_id]
        return known.name == product.name and known.price == product.price

    def _bump(self, product_id: str, now: datetime) -> None:
        last = self.versions.get(product_id)
        self.versions[product_id] = now if last is None or now > last else last + _TICK

    def _level(self, product_id: str) -> Level:
        product = self.details[product_id]
        c = self.stock[product_id]
        return Level(
            product_id=product_id,
            name=product.name,
            price=product.price,
            available=c.available,
            reserved=c.reserved,
            sold=c.sold,
            at=self.versions[product_id],
        )
