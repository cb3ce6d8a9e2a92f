"""Static browser UI."""
