"""Evaluation: metrics from probabilities, the one scoring path every command uses, reports and plots.

    metrics.py   accuracy, precision, recall, F1, ROC-AUC, log loss, confusion matrix, thresholds
    scoring.py   a model + a split -> Scores; which data a saved model is evaluated on
    reports.py   `evaluate --report`: metrics.json, plots, errors.csv, report.md (written atomically)
    plots.py     the figures (matplotlib, no pyplot)
"""
