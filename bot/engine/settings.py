"""Named thresholds for the runner and the lint (see guides/accessibility.md).

Values marked (J) in the guide are judgement calls; keep them here, never as literals elsewhere.
"""

from __future__ import annotations

# Menus (rule 3)
MENU_MAX_OPTIONS = 4
LANGUAGE_KEY = "9"  # kept for choosing the other language, offered first in the greeting

# Timing on calls (rule 4)
NO_INPUT_TIMEOUT_SECONDS = 10
SPEECH_END_SECONDS = 3
EXTRA_TIME_FACTOR = 3  # extra time or Relay UK: at least 3x
SILENCE_LIMIT_SECONDS = 60  # silence never ends a call before this
MAX_TRIES = 3  # failed tries at one step before offering a person, a call back or a text
MISHEARD_BEFORE_KEYPAD = 2  # misheard answers before asking for the keypad only
# Who covers when nobody by name does: said as such in English; other languages' flows
# test `case.contact_is_duty` or `last.to_duty` and say it in their own words.
DUTY_TEAM_NAME = "the duty team"
PAUSE_BETWEEN_SENTENCES_SECONDS = 0.5  # rule 5: at least 0.5 s
PAUSE_AFTER_ENTRY_SECONDS = 0.5

# Speech (rules 5 and 7)
MAX_SPEECH_RATE = 100
SLOWER_SPEECH_RATE = 85
CONFIRM_BELOW_CONFIDENCE = 0.6  # consequential speech answers below this are read back

# Calls: Twilio refuses inline TwiML over 4,000 characters on a call we start.
VOICE_STEP_MAX_CHARS = 3000

# Voice messages
RECORDING_MAX_SECONDS = 180

# Plain words (rule 8)
MAX_GRADE = 4.0  # Flesch-Kincaid grade per flow, English text
GRADE_MIN_WORDS = 20  # below this the formula says little; the grade is shown, not judged
SENTENCE_WORDS_WARN = 15
SENTENCE_WORDS_FAIL = 25

# Texts (rule 10)
SMS_PARTS_BUDGET = {"en": 2, "cy": 2}  # default per language; commands.yaml may restate it
CHECKIN_SMS_PARTS = 1
NEWS_MAX_CHARS = 160  # the longest news a worker may write; the lint renders this length
OUTCOME_MAX_CHARS = 120

# What happened last time (case_update): older contacts are not mentioned, since a date
# without a year ("Tuesday 2 December") stops being clear after a few months. (J)
LAST_CONTACT_MAX_DAYS = 90

# A number whose PIN fits several cases: at most this many are offered as choices (rule 3);
# with more, the caller is asked to speak to a person.
MAX_CASE_CHOICES = MENU_MAX_OPTIONS

# Runner safety
MAX_STEPS_PER_TURN = 40
MAX_CALL_DEPTH = 6
PIN_LENGTH = 4
