"""Generated sonata models."""
