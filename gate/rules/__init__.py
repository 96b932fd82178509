"""Judging, pure (no I/O, no clock, no environment): checks, rule families, the verdict, lint."""
