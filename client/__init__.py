"""A Python client and the `dcgan-digits` command for the dcgan-digits HTTP API."""

from client.api import Client, Image, JobEvent
from client.errors import ApiError

__all__ = ["ApiError", "Client", "Image", "JobEvent"]
