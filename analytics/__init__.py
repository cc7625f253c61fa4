"""Analytics: windowed top products and page views (issue 5)."""
