//! An ARM-compatible Azure Container Instances emulator with fault injection, for tests,
//! benchmarks and the local demo. It follows the saved OpenAPI spec and
//! `../shared/aci-spec/CONTRACT.md`, not any client.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aci_emulator::EmulatorError> {
//! use aci_emulator::{Emulator, EmulatorConfig};
//! let emu = Emulator::start(EmulatorConfig::default()).await?;
//! let arm_endpoint = emu.base_url().to_owned(); // also the authority host
//! emu.update_faults(|f| f.error_5xx_rate = 0.1);
//! let state = emu.state();
//! # let _ = (arm_endpoint, state);
//! emu.shutdown().await
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod engine;
pub mod error;
pub mod faults;
mod http;
pub mod latency;
pub mod lifecycle;
pub mod regions;
pub mod route;
mod server;
pub mod standby;
pub mod throttle;
pub mod tls;
pub mod validate;
pub mod wire;

pub use config::{
    DeleteMode, EmulatorConfig, Limits, ProvisioningLatency, RegionQuota, StandbyConfig, TokenConfig,
};
pub use engine::{GroupRecord, PoolRecord, StateSnapshot, WriteRecord};
pub use error::{ArmError, EmulatorError};
pub use faults::{
    CapacityFault, CapacityMode, CrashFault, Faults, ForcedThrottle, ImageFault, ImageFaultMode,
    ThrottleScope,
};
pub use latency::LatencyDist;
pub use server::{Emulator, EmulatorHandle};
pub use tls::{TlsError, TlsMode, TlsSetup};
