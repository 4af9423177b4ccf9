"""Saved payment methods: a Stripe Customer per user and the cards saved on it."""
