"""A Python client and the `dcgan-digits` command for the dcgan-digits HTTP API."""

from client.api import ApiError, Client, Image, JobEvent

__all__ = ["ApiError", "Client", "Image", "JobEvent"]
