"""Recording policy, per-camera recorders, crash recovery and retention."""
