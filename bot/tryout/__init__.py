"""Tools for trying the line without Twilio: `caseline chat`, a simulated phone, a fake Twilio.

Only the `chat`, `demo` and `fake-twilio` commands and the tests use them: the web app, the
RQ jobs and the scheduler never import this package (tests/test_layout.py checks), and
production settings refuse a fake Twilio.
"""
