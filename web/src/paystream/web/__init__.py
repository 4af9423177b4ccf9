"""The paystream reference web app and operator dashboard."""
