"""Imports every core module that registers job handlers, so a process running jobs knows them all."""

import core.digests.delivery
import core.posture.evaluate
import core.retention.flows
import core.scans.schedule
import core.scans.service  # noqa: F401 - "scans.repository"
