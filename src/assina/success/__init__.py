"""Health scores with reasons and churn risk from the business's own history (issue 20)."""
