"""The hosted pricing page, checkout and checkout sessions (issue 19)."""
