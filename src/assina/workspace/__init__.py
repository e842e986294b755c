"""The owner's customer workspace: the customer list with saved segments and the customer page with its timeline (issue 20)."""
