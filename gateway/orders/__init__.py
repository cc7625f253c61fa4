"""Orders: the write side (an order and its outbox event), the read model and their API."""
