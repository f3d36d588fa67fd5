"""Services: the one place each change is made, shared by the CLI and the REST API."""
