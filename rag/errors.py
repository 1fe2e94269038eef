"""The one exception type a user sees: its message is a single clear line."""


class RagError(Exception):
    """A failure caused by input or environment, reported as one line and exit code 2."""
