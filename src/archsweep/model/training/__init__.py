"""archsweep.model.training."""
