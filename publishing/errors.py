"""The one error a failed release raises, in a module of its own so that every step of the
release (export, privacy gate, storage target) can raise it without importing the others."""


class ReleaseError(RuntimeError):
    """The release could not be published; `latest` still points where it did."""
