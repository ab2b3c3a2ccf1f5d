"""Configuration: the settings table, loading and validation, parsers, key sources, errors,
logging."""
