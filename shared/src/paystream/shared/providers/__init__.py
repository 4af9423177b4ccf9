"""Payment providers' wire formats, signature schemes and our reference encodings, which both
sides of the wire need (checkout, the notification library, the fakes); plus the one loader of
provider keys. Installed with the `providers` extra: it needs `cryptography`.
"""
