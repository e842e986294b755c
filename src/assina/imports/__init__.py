"""Imports a business's past customers, subscriptions and events (issue 20): never billed, counted in analytics and models."""
