"""Engagement events from the business's product, onboarding milestones, notes and tasks on a customer (issue 20)."""
