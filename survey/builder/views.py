"""Thin views of the builder (filled in below)."""
