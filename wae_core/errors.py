"""One base class for every error whose message is written for the app's users.

The app shows such a message verbatim (no type name, no traceback); any other exception is a bug
and is shown with its type. Subclasses keep their builtin base (ValueError, RuntimeError) so that
callers catching those still work.
"""


class UserFacingError(Exception):
    """An error whose message is meant to be shown to users as it is."""
