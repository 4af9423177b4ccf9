"""Auto-recharge: a top-up charged to a saved card when the ledger says a balance crossed below
the user's threshold, or when the user asks, and that never runs away."""
