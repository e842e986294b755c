"""The retention app's pages, one module per use case: ``cancel`` (the portal's cancel flow) and
``report`` (the retention figures beside the dashboard)."""
