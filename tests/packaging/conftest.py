"""The packaging tests drive the stepauth Provider the way the SDK tests do."""

from tests.sdk.conftest import serve
from tests.sdk.test_stepauth_provider import stepauth_op, ua

__all__ = ["serve", "stepauth_op", "ua"]
