"""The `paystream` operator command."""
