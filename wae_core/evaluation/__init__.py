"""Evaluation: the LeNet feature net, the metrics, the scoring protocol and its reports."""
