"""Dashboard: live order state pushed to browsers over Channels (issue 6)."""
