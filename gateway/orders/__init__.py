"""Orders: the write side (order + outbox), the read model and their API."""
