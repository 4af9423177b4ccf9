"""Stripe webhooks: signature (`verify`), events (`normalize`), settings, the route's contract."""
