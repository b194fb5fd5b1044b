"""Data: the data sets (embedded, Debian, toys, Stacked MNIST), augmentation and upload ingest."""
