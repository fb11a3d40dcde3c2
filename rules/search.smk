# rules of the Optuna search (owned by search engineer)
