"""The live invariant auditor: a worker that reads the saga's topics and checks its promises."""
