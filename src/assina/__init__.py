"""Assina: self-hosted subscription management and retention for small businesses."""

__version__ = "0.1.0"
