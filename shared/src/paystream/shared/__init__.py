"""Code every paystream service imports: events, money, topics and the Kafka/DB/HTTP plumbing.

Nothing here belongs to one service's business logic.
"""
