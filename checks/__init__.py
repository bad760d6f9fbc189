"""Post-deploy checks: read stack outputs, query metrics, logs and probes, judge each target.

The checks never import the Pulumi program (`infra`); they read its outputs. The target table
(`checks/targets.py`) is the one piece both sides share.
"""
