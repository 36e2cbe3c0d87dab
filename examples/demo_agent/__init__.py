"""The adk-pg demo agent, loadable as app ``demo_agent`` by ``adk web examples/``."""

from . import agent
from .agent import root_agent

__all__ = ["agent", "root_agent"]
