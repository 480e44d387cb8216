"""cloudpos — multi-tenant cloud point-of-sale for retail stores."""

__version__ = "0.1.0"
