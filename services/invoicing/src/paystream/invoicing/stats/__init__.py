"""Revenue and refunds per provider, currency and day, for the operators' dashboard."""
