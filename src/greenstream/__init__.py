"""greenstream."""
