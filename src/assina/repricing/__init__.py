"""Price migrations: a new plan version announced with a choice for existing customers (issue 19)."""
