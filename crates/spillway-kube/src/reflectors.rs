//! Reflectors for Nodes, Pods, Deployments, HPAs and Services, with a
//! readiness gate that opens once every initial list has been synced. Nodes
//! and Pods are read as [`CompactNode`] / [`CompactPod`]; the others are
//! trimmed before they enter their stores.

use std::{fmt::Debug, future::ready, sync::Arc};

use futures::{StreamExt, future::join_all};
use k8s_openapi::api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler, core::v1::Service};
use kube::{
    Api, Client, Resource,
    runtime::{
        WatchStreamExt,
        reflector::{self, Store},
        watcher,
    },
};
use serde::de::DeserializeOwned;
use tokio::{sync::watch, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::{
    compact::{CompactNode, CompactPod},
    trim,
};

/// Read handles on the five stores.
#[derive(Clone)]
pub struct Stores {
    pub nodes: Store<CompactNode>,
    pub pods: Store<CompactPod>,
    pub deployments: Store<Deployment>,
    pub hpas: Store<HorizontalPodAutoscaler>,
    pub services: Store<Service>,
}

/// Opens once every store has its initial list. Planning before that would
/// see an empty cluster.
#[derive(Clone, Debug)]
pub struct Readiness(watch::Receiver<bool>);

impl Readiness {
    /// From a flag fed elsewhere (tests, a simulated cluster).
    pub fn from_receiver(rx: watch::Receiver<bool>) -> Self {
        Readiness(rx)
    }
    pub fn is_ready(&self) -> bool {
        *self.0.borrow()
    }
    /// Waits until ready; returns false if the reflectors stopped first.
    pub async fn wait(&mut self) -> bool {
        self.0.wait_for(|r| *r).await.is_ok()
    }
}

/// The running reflectors; dropping it does not stop them, cancel the token.
pub struct Reflectors {
    pub stores: Stores,
    pub readiness: Readiness,
    pub tasks: JoinSet<()>,
}

fn run<K>(
    tasks: &mut JoinSet<()>,
    api: Api<K>,
    config: watcher::Config,
    trim: Option<fn(&mut K)>,
    cancel: CancellationToken,
) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (reader, writer) = reflector::store();
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let stream = watcher(api, config)
        .default_backoff()
        .modify(move |o| {
            if let Some(trim) = trim {
                trim(o);
            }
        })
        .reflect(writer)
        .for_each(move |event| {
            match event {
                Ok(_) => {}
                // 410 Gone is handled inside the watcher by relisting; what
                // arrives here (403 Forbidden, connection errors) is retried
                // with backoff.
                Err(e) => warn!(kind = %kind, error = %e, "watch error; retrying with backoff"),
            }
            ready(())
        });
    tasks.spawn(async move {
        tokio::select! {
            () = stream => {},
            () = cancel.cancelled() => debug!("reflector stopped"),
        }
    });
    reader
}

/// Starts the five reflectors, cluster-wide.
pub fn start(client: Client, cancel: CancellationToken) -> Reflectors {
    let mut tasks = JoinSet::new();
    let cfg = || watcher::Config::default().any_semantic();
    let stores = Stores {
        nodes: run(&mut tasks, Api::all(client.clone()), cfg(), None, cancel.clone()),
        pods: run(&mut tasks, Api::all(client.clone()), cfg(), None, cancel.clone()),
        deployments: run(
            &mut tasks,
            Api::all(client.clone()),
            cfg(),
            Some(trim::deployment),
            cancel.clone(),
        ),
        hpas: run(
            &mut tasks,
            Api::all(client.clone()),
            cfg(),
            Some(trim::hpa),
            cancel.clone(),
        ),
        services: run(
            &mut tasks,
            Api::all(client),
            cfg(),
            Some(trim::service),
            cancel.clone(),
        ),
    };
    let (tx, rx) = watch::channel(false);
    let waiting = stores.clone();
    tasks.spawn(async move {
        let results = tokio::select! {
            r = join_all([
                Box::pin(async { waiting.nodes.wait_until_ready().await.is_ok() })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>,
                Box::pin(async { waiting.pods.wait_until_ready().await.is_ok() }),
                Box::pin(async { waiting.deployments.wait_until_ready().await.is_ok() }),
                Box::pin(async { waiting.hpas.wait_until_ready().await.is_ok() }),
                Box::pin(async { waiting.services.wait_until_ready().await.is_ok() }),
            ]) => r,
            () = cancel.cancelled() => return,
        };
        if results.iter().all(|ok| *ok) {
            debug!("all reflectors synced");
            let _ = tx.send(true);
        }
    });
    Reflectors {
        stores,
        readiness: Readiness(rx),
        tasks,
    }
}

/// Objects of a store as a vector of shared pointers (a cheap clone).
pub fn state<K>(store: &Store<K>) -> Vec<Arc<K>>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store.state()
}
