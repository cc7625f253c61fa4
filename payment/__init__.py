"""The payment service: authorizes or declines each order once, and refunds it once if cancelled."""
