"""The gateway: Django + DRF API that accepts orders, owns the read model and the outbox."""
