"""Notification: exactly one customer notice per order outcome (issue 3)."""
