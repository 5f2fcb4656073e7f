"""Customers, their users, chatbots and API keys: the tenancy domain."""
