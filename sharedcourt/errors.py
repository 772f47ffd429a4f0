"""The exception tree of the front door.

SharedCourtError
├── ConfigError            settings missing or invalid (raised at start-up)
├── AuthError              a request failed authentication (signature, timestamp, AppId)
├── BadRequest             a request that authenticated but cannot be parsed
│   └── PayloadTooLarge    body over the size limit
├── DuplicateMessage       a channel re-delivered a message we already stored
├── UpstreamError          a remote system failed (Rasa, WeChat, DingTalk)
│   └── RasaUnavailable    Rasa cannot be reached or answered with an error
│       └── RasaTimeout    the request reached Rasa and no answer came back: the turn may have run
├── NotFound               a record asked for does not exist
└── Conflict               a concurrent change won (slot taken, ticket already accepted)
    └── SlotFull           no seat is left in the slot (or at its site and time)

Edges (HTTP handlers, CLI) map these to responses; the core never swallows them.
"""


class SharedCourtError(Exception):
    """Base class for every error raised by our code."""


class ConfigError(SharedCourtError):
    """A setting is missing or invalid."""


class AuthError(SharedCourtError):
    """A request failed authentication; never process its body."""


class BadRequest(SharedCourtError):
    """A request authenticated but is malformed."""


class PayloadTooLarge(BadRequest):
    """A request body exceeded the configured limit."""


class DuplicateMessage(SharedCourtError):
    """A channel re-delivered a message that is already stored."""

    def __init__(self, message_id: int) -> None:
        super().__init__(f"message already stored as {message_id}")
        self.message_id = message_id


class UpstreamError(SharedCourtError):
    """A remote system failed or timed out."""


class RasaUnavailable(UpstreamError):
    """Rasa could not be reached or answered with an error."""


class RasaTimeout(RasaUnavailable):
    """The request reached Rasa but no answer came back (timeout, dropped connection, 5xx): it may have run."""


class NotFound(SharedCourtError):
    """A record asked for does not exist."""


class Conflict(SharedCourtError):
    """A concurrent change won (a slot was taken, a ticket already accepted)."""


class SlotFull(Conflict):
    """No seat is left in the slot asked for, nor at the same site and time."""
