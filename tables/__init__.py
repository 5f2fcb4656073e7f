"""Piccolo tables, one module per area. Imports nothing of ours."""
