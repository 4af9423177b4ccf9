"""Provider wire formats and signature schemes shared by checkout, webhook-ingest and the fakes.

Pure code plus thin HTTP clients: no service logic lives here.
"""
