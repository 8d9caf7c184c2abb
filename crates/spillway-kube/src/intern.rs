//! One shared copy of each node name, namespace and label set the bound
//! pods of a snapshot carry. 50,000 pods name a few thousand nodes, a few
//! dozen namespaces and, since the pods of one ReplicaSet carry the same
//! labels, far fewer label sets than pods; copying them into every
//! [`spillway_core::snapshot::BoundPod`] cost most of the snapshot's memory.

use std::{collections::HashSet, sync::Arc};

use spillway_core::snapshot::Labels;

/// Entries no snapshot uses any more are dropped once the tables have
/// doubled since the last sweep, so churn (rollouts change a label on every
/// pod) cannot grow them without bound; never below this many entries.
const MIN_SWEEP: usize = 1024;

#[derive(Debug, Default)]
pub struct Interner {
    strings: HashSet<Arc<str>>,
    labels: HashSet<Arc<Labels>>,
    /// Entries after the last sweep.
    kept: usize,
}

impl Interner {
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared copy of `s`.
    pub fn str(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.strings.get(s) {
            return found.clone();
        }
        let new: Arc<str> = s.into();
        self.strings.insert(new.clone());
        new
    }

    /// The shared copy of `labels` (absent labels are the empty set).
    pub fn labels(&mut self, labels: Option<&Labels>) -> Arc<Labels> {
        static EMPTY: Labels = Labels::new();
        let labels = labels.unwrap_or(&EMPTY);
        if let Some(found) = self.labels.get(labels) {
            return found.clone();
        }
        let new = Arc::new(labels.clone());
        self.labels.insert(new.clone());
        new
    }

    pub fn len(&self) -> usize {
        self.strings.len() + self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the entries only this table still holds, when it has doubled
    /// since the last sweep. Call after the snapshot using the entries is
    /// built, so what it uses is held elsewhere.
    pub fn sweep(&mut self) {
        if self.len() < MIN_SWEEP.max(2 * self.kept) {
            return;
        }
        self.strings.retain(|s| Arc::strong_count(s) > 1);
        self.labels.retain(|l| Arc::strong_count(l) > 1);
        self.kept = self.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_one_copy() {
        let mut i = Interner::new();
        let a = i.str("node-1");
        let b = i.str(&String::from("node-1"));
        assert!(Arc::ptr_eq(&a, &b));
        let l: Labels = [("app".to_string(), "web".to_string())].into();
        let x = i.labels(Some(&l));
        let y = i.labels(Some(&l.clone()));
        assert!(Arc::ptr_eq(&x, &y));
        assert!(i.labels(None).is_empty());
        assert_eq!(i.len(), 3);
    }

    #[test]
    fn sweep_drops_what_nobody_holds_once_grown() {
        let mut i = Interner::new();
        let held = i.str("held");
        for k in 0..MIN_SWEEP {
            i.str(&format!("gone-{k}"));
        }
        i.sweep();
        assert_eq!(i.len(), 1);
        assert!(Arc::ptr_eq(&held, &i.str("held")));
        // Below twice the survivors (and the minimum): no sweep yet.
        i.str("another");
        i.sweep();
        assert_eq!(i.len(), 2);
    }
}
