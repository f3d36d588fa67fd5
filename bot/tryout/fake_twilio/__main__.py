"""`python -m bot.tryout.fake_twilio --port 5010 --account-sid AC... --auth-token ...`"""

import sys

from .cli import main

sys.exit(main())
