"""Routes of operations: the staff-only DLQ and fault APIs, and the metrics."""

from django.urls import path

from gateway.operations import apis, metrics

urlpatterns = [
    path("api/ops/dlq", apis.DlqListApi.as_view(), name="dlq"),
    path("api/ops/dlq/redrive", apis.DlqRedriveApi.as_view(), name="dlq-redrive"),
    path("api/ops/dlq/discard", apis.DlqDiscardApi.as_view(), name="dlq-discard"),
    path("api/ops/dlq/<str:ref>", apis.DlqDetailApi.as_view(), name="dlq-detail"),
    path("api/ops/dlq/<str:ref>/redrive", apis.DlqRedriveOneApi.as_view(), name="dlq-redrive-one"),
    path("api/ops/dlq/<str:ref>/discard", apis.DlqDiscardOneApi.as_view(), name="dlq-discard-one"),
    path("api/ops/faults", apis.FaultListApi.as_view(), name="faults"),
    path("api/ops/faults/<str:service>", apis.FaultDetailApi.as_view(), name="fault-detail"),
    path("metrics", metrics.prometheus, name="metrics"),
    path("metrics/dlq", metrics.dlq, name="metrics-dlq"),
]
