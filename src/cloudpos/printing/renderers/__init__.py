"""Renderers turn layout elements into text, ESC/POS bytes, HTML or PDF."""
