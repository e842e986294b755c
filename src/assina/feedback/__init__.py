"""NPS and CSAT surveys, every comment in one place, and the recurring pain points ranked by who raises them (issue 17)."""
