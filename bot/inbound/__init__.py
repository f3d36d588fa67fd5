"""One text or call step: store it, know who may be calling, run the flow, carry out, answer."""
