"""Database layer: declarative base, models, engine and unit of work."""
