"""Generated cantata models."""
