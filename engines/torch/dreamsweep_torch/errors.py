"""The one exception the engine answers as a user error."""


class EngineUserError(Exception):
    """A mistake the user can fix; reaches TypeScript as a UserError with this code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
