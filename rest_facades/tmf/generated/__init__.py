"""Generated from the official TM Forum v4 files."""
