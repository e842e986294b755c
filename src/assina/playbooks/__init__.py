"""Playbooks: triggers on a customer's health, risk, activity, feedback or payments, and the actions they run (issue 20)."""
