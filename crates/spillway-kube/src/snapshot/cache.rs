//! Which store objects changed since the last build, and where the
//! conversions of those that did not are in the last snapshot.
//!
//! Objects are recognised by their `Arc` in the store: a reflector stores a
//! new `Arc` whenever an object changes, and the cache keeps a clone of
//! every `Arc` it has converted, so an address cannot be reused by another
//! object while it is cached. A store lists its objects in the same order
//! from one call to the next as long as none is added or removed, so the
//! objects are first matched by position, a sequential scan; an address
//! index is built only when the order has moved.

use std::{collections::HashMap, sync::Arc};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use spillway_core::snapshot::Entry;

use super::Skipped;
use crate::convert::ConvertError;

/// The objects of one store at the last build, in the order they came, and
/// where each one's conversion went.
#[derive(Debug)]
pub(super) struct Cache<K> {
    pub(super) last: Vec<Cached<K>>,
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache { last: Vec::new() }
    }
}

#[derive(Debug)]
pub(super) struct Cached<K> {
    /// Also keeps the address taken.
    pub(super) object: Arc<K>,
    slot: Slot,
}

/// Where an object's conversion is in the last snapshot.
#[derive(Debug, Clone)]
enum Slot {
    /// Left out on purpose (an unbound or terminal pod).
    Out,
    /// At this index of the last snapshot's nodes or pods.
    At(usize),
    /// Boxed: rare, and it would make every cached object as large as an error.
    Skipped(Box<ConvertError>),
}

fn address<K>(object: &Arc<K>) -> usize {
    Arc::as_ptr(object).addr()
}

impl<K: kube::Resource> Cache<K> {
    /// The same objects as last time, in the same order.
    pub(super) fn unchanged(&self, objects: &[Arc<K>]) -> bool {
        objects.len() == self.last.len()
            && objects
                .iter()
                .zip(&self.last)
                .all(|(o, c)| Arc::ptr_eq(o, &c.object))
    }

    /// The entries of the next snapshot for `objects`, in their order:
    /// [`Entry::Kept`] with the last snapshot's index when unchanged, else
    /// converted (`None`: left out). Each index of the last snapshot is kept
    /// at most once. Failures go to `skipped`, named by `describe`.
    pub(super) fn update<V>(
        &mut self,
        objects: &[Arc<K>],
        mut convert: impl FnMut(&K) -> Option<Result<V, ConvertError>>,
        describe: impl Fn(&K) -> String,
        skipped: &mut Vec<Skipped>,
    ) -> Vec<Entry<V>> {
        let mut last: Vec<Option<Cached<K>>> = std::mem::take(&mut self.last).into_iter().map(Some).collect();
        // Address -> position in `last`, built the first time the order has moved.
        let mut index: Option<HashMap<usize, usize>> = None;
        let mut next = 0;
        let mut cached = Vec::with_capacity(objects.len());
        let mut out = Vec::with_capacity(objects.len());
        for object in objects {
            let at_next = last.get(next).and_then(Option::as_ref);
            let found = if at_next.is_some_and(|c| Arc::ptr_eq(&c.object, object)) {
                next += 1;
                Some(next - 1)
            } else if at_next.is_some_and(|c| same_object(c.object.meta(), object.meta())) {
                // A new version in the old one's place.
                next += 1;
                None
            } else {
                let index = index.get_or_insert_with(|| {
                    last.iter()
                        .enumerate()
                        .filter_map(|(k, c)| c.as_ref().map(|c| (address(&c.object), k)))
                        .collect()
                });
                let found = index.get(&address(object)).copied();
                if let Some(k) = found {
                    next = k + 1;
                }
                found
            };
            // `take`: a cached object, and so its index, is used once.
            let previous = found.and_then(|k| last.get_mut(k)).and_then(Option::take);
            let (object, slot) = match previous {
                Some(Cached {
                    object,
                    slot: Slot::At(i),
                }) => {
                    out.push(Entry::Kept(i));
                    (object, Slot::At(out.len() - 1))
                }
                Some(Cached { object, slot }) => (object, slot),
                None => (object.clone(), place(convert(object), &mut out)),
            };
            if let Slot::Skipped(e) = &slot {
                skipped.push(Skipped {
                    object: describe(&object),
                    reason: (**e).clone(),
                });
            }
            cached.push(Cached { object, slot });
        }
        self.last = cached;
        out
    }
}

/// Appends a fresh conversion to `out`, returning its slot.
fn place<V>(result: Option<Result<V, ConvertError>>, out: &mut Vec<Entry<V>>) -> Slot {
    match result {
        None => Slot::Out,
        Some(Ok(v)) => {
            out.push(Entry::New(v));
            Slot::At(out.len() - 1)
        }
        Some(Err(e)) => Slot::Skipped(Box::new(e)),
    }
}

/// The same Kubernetes object (possibly another version of it).
fn same_object(a: &ObjectMeta, b: &ObjectMeta) -> bool {
    match (&a.uid, &b.uid) {
        (Some(a), Some(b)) => a == b,
        _ => a.name == b.name && a.namespace == b.namespace,
    }
}
