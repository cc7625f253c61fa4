"""Where the monitor keeps its latest status in Redis, for pages that just loaded."""

STATUS_KEY = "dashboard:status"
