"""Operations: the dead-letter queue's read model and tools, fault injection, metrics."""
