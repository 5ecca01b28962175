"""The TM Forum Open API v4 face."""
