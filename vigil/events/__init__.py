"""Events: the bus every alarm goes through, and the per-camera analysis that raises AI events."""
