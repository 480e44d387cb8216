"""Receipts and printing: layout, renderers (text, ESC/POS, HTML, PDF), printers, print jobs, labels."""
