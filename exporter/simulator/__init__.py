"""A simulated Neon management API (v2 and v1), read-only, for the demo mode.

The tests extend it (tests/sim) with faults, a request log and an HTTP control API.
"""

from exporter.simulator.api import error_response
from exporter.simulator.app import Simulator
from exporter.simulator.model import SimBranch, SimEndpoint, SimProject

__all__ = ["SimBranch", "SimEndpoint", "SimProject", "Simulator", "error_response"]
