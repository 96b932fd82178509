"""cekura-gate: a CI quality gate for voice-AI agents tested on Cekura.

The stable interface is the command line, the policy file's JSON Schema, the
report formats and the exit codes; there is no public Python API.
"""

__version__ = "0.2.0"
