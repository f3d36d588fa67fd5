"""Everything the line sends: written to the outbox first, handed to RQ, sent exactly once."""
