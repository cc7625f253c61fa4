"""Flattening DRF's nested error details into field paths."""

from rest_framework.exceptions import ErrorDetail

from gateway.errors import flatten


def test_nested_list_errors_get_indexed_dotted_paths():
    detail = {
        "userId": [ErrorDetail("blank", code="blank")],
        "items": [{}, {"quantity": [ErrorDetail("too small", code="min_value")]}],
        "non_field_errors": [ErrorDetail("bad body", code="invalid")],
    }

    assert flatten(detail) == [
        {"field": "userId", "code": "blank", "message": "blank"},
        {"field": "items[1].quantity", "code": "min_value", "message": "too small"},
        {"field": "body", "code": "invalid", "message": "bad body"},
    ]


def test_list_serializer_dict_keyed_by_index():
    detail = {"items": {0: {"price": [ErrorDetail("neg", code="min_value")]}}}

    assert flatten(detail) == [{"field": "items[0].price", "code": "min_value", "message": "neg"}]
