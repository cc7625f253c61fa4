"""The saga: correlates payment and inventory per order and decides the outcome (issue 3)."""
