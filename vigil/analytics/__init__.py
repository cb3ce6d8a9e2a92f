"""Analytics: pure computation on frames and tracks (no I/O)."""
