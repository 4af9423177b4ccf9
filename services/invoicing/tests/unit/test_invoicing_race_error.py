"""A batch that lost a race for an order must be retried whole by the shared consumer, never
isolated event by event towards the dead-letter topic."""

from __future__ import annotations

from paystream.invoicing.service import ConcurrentInvoicing
from paystream.shared.kafka import TRANSIENT_ERRORS


def test_a_lost_race_is_a_transient_error_for_the_batch_consumer() -> None:
    error = ConcurrentInvoicing("an order of the batch was invoiced concurrently")
    # BatchConsumer._apply_retrying_transient retries exactly these, without end, on the batch.
    assert isinstance(error, TRANSIENT_ERRORS)
    assert str(error) == "an order of the batch was invoiced concurrently"
    # Logs and DLQ headers (if it ever came to that) show a serialization failure.
    assert error.sqlstate == "40001"
