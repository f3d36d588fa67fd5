"""The demo: its invented cases (demo.yaml) and its staff account (staff.py)."""
