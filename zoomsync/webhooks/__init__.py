"""Zoom webhooks: a receiver that spools signed events durably, and an applier that turns
them into targeted refreshes of the warehouse (docs/webhooks.md)."""
