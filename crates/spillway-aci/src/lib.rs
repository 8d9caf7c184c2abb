//! ARM client for Microsoft.ContainerInstance. Not built yet: see issue 4.
