"""Alipay asynchronous notifications: verification, normalization, settings, route contract."""
