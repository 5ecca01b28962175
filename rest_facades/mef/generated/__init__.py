"""Generated from the official MEF LSO files."""
