"""The packaging tests drive the stepauth Provider the way the SDK tests do."""

from tests.helpers.served import serve
from tests.helpers.stepauth_op import stepauth_op, ua

__all__ = ["serve", "stepauth_op", "ua"]
