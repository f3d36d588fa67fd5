"""A local fake of Twilio's REST API (Messages and Calls) for tests and the demo.

Unlike a stateless OpenAPI mock it keeps what it was sent, answers with Twilio's business errors,
and posts signed status callbacks asynchronously, sometimes twice and sometimes out of order, as
Twilio does. It is a real HTTP server, so other processes (an RQ worker, the demo) can use it
through the real twilio-python client
(`bot.delivery.twilio_http.make_client(..., api_base=url)`), and it is driven and inspected
over HTTP under `/_fake/` as well as from Python:

    with FakeTwilioServer(account_sid=..., auth_token=...) as fake:
        fake.state.fail_create(21610, to="+447700900999", count=None)  # every text to it fails
        fake.state.fail_delivery(30003)                   # the next text ends `undelivered`
        fake.state.hang_create(when="after")             # record the next one, then never answer
        fake.state.set_call_outcome("machine")            # the next call reaches voicemail
        ...
        fake.wait_for(lambda: len(fake.messages) == 1)

Run it on its own with
`python -m bot.tryout.fake_twilio --port 5010 --account-sid AC... --auth-token ...`.
Its log shows every text and call with masked numbers and without bodies: read bodies from
`GET /_fake/messages`.

    resources  Twilio-shaped resources and errors, segment counts, constants, the logger
    lifecycle  the statuses a message or call goes through, and each one's callback
    state      FakeTwilioState: records, rules, held requests, chaos, the callback thread
    api        create_fake_app: the REST API and the /_fake/ control endpoints
    server     FakeTwilioServer: the app on a real port, in a background thread
    cli        main(), for `python -m bot.tryout.fake_twilio` and `caseline fake-twilio`
"""

from .api import create_fake_app, fake_state
from .cli import main
from .resources import (
    API_PREFIX,
    API_VERSION,
    CALL_EVENTS,
    CALL_OUTCOMES,
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_SENDER,
    MAX_BODY,
    MAX_TWIML,
    RESOURCES,
    error_message,
    log,
    num_segments,
    twilio_error,
)
from .server import FakeTwilioServer
from .state import FakeTwilioState

__all__ = [
    "API_PREFIX",
    "API_VERSION",
    "CALL_EVENTS",
    "CALL_OUTCOMES",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_SENDER",
    "MAX_BODY",
    "MAX_TWIML",
    "RESOURCES",
    "FakeTwilioServer",
    "FakeTwilioState",
    "create_fake_app",
    "error_message",
    "fake_state",
    "log",
    "main",
    "num_segments",
    "twilio_error",
]
