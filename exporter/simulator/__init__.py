"""A simulated Neon management API (v2 and v1) for the demo mode and the tests."""

from exporter.simulator.app import Simulator, error_response
from exporter.simulator.model import Fault, RequestRecord, SimEndpoint, SimProject

__all__ = ["Fault", "RequestRecord", "SimEndpoint", "SimProject", "Simulator", "error_response"]
