//! Metric sources (Prometheus HTTP API, metrics.k8s.io). Not built yet: see issue 5.
