"""Serving: the exported SavedModel (export.py), TF Serving's models.config (models_config.py), and loading a
trained model to predict (inference.py)."""
