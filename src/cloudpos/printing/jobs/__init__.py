"""Sending queued print jobs after commit."""
