"""archsweep.load."""
