"""archsweep.workflow."""
