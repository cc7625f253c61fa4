"""The order POST validates with one shared ``InputSerializer`` (`gateway.orders.apis`):
for any body, the same validated data or the same errors as a new serializer's
``is_valid``, however many bodies it validated before."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from gateway.errors import flatten
from gateway.orders.apis import OrderCollectionApi, _validated_order

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 20_000) | st.floats(allow_nan=False)
    | st.text(max_size=8) | st.sampled_from(["p1", "USD", "EUR", "49.995", "-1", "1e3", ""]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
IDENT = st.sampled_from(["user-1", "o.1:a", "bad id", "", "x" * 65, "-x"]) | JSON
LINE = st.fixed_dictionaries(
    {"productId": IDENT, "quantity": st.integers(-1, 10_001) | JSON},
    optional={"price": st.sampled_from(["1.00", 1, 49.995, "1.0001", "abc", -1]) | JSON, "x": JSON},
)  # fmt: skip
BODY = (
    st.fixed_dictionaries(
        {"userId": IDENT, "items": st.lists(LINE, max_size=4) | JSON},
        optional={
            "orderId": IDENT,
            "amount": st.sampled_from(["99.99", 2, "1.001", None]) | JSON,
            "currency": st.sampled_from(["USD", "EUR", "XXX", "usd"]) | JSON,
            "extra": JSON,
        },
    )
    | JSON
)


def outcome(validate: Any) -> tuple[str, Any]:
    try:
        return "valid", validate()
    except ValidationError as exc:
        return "invalid", flatten(exc.detail)


@settings(max_examples=400, deadline=None)
@given(BODY)
def test_the_shared_serializer_answers_as_a_new_one(body: Any) -> None:
    def fresh() -> Any:
        serializer = OrderCollectionApi.InputSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    assert outcome(lambda: _validated_order(body)) == outcome(fresh)
