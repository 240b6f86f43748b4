"""Payments pages. Reads for every role (sales reps follow their accounts), writes for finance."""
