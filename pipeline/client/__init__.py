"""Submitting requests and awaiting their results from Python."""

from pipeline.broker.connection import ClusterUnavailableError
from pipeline.client.client import PipelineClient, Result
from pipeline.client.requests import build_request, find_bodies_file
from pipeline.client.saving import save_result

__all__ = [
    "ClusterUnavailableError",
    "PipelineClient",
    "Result",
    "build_request",
    "find_bodies_file",
    "save_result",
]
