"""Everything that touches video bytes."""
