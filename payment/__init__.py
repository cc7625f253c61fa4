"""The payment service: authorizes or declines each placed order, exactly once per order."""
