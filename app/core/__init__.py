"""The capability core: knows no HTTP, GraphQL, MEF or TM Forum vocabulary."""
