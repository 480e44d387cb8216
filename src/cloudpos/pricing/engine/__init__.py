"""Implementation modules of the price engine; import the API from ``cloudpos.pricing.domain``."""
