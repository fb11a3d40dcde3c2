"""archsweep.spec."""
