"""WeChat Pay API v3 notifications: verification and decryption, the raw record, normalization,
settings, the route's contract."""
