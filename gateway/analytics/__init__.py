"""Analytics read model: the latest snapshot of each window; page views of the gateway."""
