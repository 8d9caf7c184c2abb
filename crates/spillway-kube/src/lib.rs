//! kube-rs adapters: reflectors, snapshot, ConfigMap, scale, EndpointSlices, Events, Lease. Not built yet: see issue 6.
