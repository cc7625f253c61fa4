"""The outbox: events written in the same transaction as the rows they describe, and the
relay that publishes them to Kafka. The lowest gateway app: the apps that emit events
(orders, analytics) write through it; it imports none of them."""
