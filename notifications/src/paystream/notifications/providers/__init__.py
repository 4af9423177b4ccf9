"""One folder per provider; `paystream.notifications.registry` lists them."""
