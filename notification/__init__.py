"""Notification: exactly one customer notice per order outcome (console or e-mail)."""
