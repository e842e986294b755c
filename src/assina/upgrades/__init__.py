"""Switching to annual billing with an incentive, and temporary upgrades (a free trial of a higher plan that reverts by itself) offered in the portal (issue 16)."""
