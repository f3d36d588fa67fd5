"""The line reaching out by itself: check-ins, the watchdog, feedback, and notices."""
