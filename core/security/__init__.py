"""Passwords, tokens and API keys."""
