"""Admin statistics of checkout: payment success and time to paid per method and day, paid
amounts per method and currency, package popularity, failure reasons, orders needing review."""
