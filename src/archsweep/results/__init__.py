"""archsweep.results."""
