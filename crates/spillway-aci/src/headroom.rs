//! Remaining room for bursts: rate budget (pacing) plus regional quota (usages).

use spillway_core::burst::BurstHeadroom;
use spillway_core::config::AciPriority;

use crate::client::AciClient;
use crate::error::AciError;
use crate::model::Usage;
use crate::pacing::PacingHeadroom;

/// Groups and cores (millicores) left, from `Location_ListUsage`. Unknown
/// (not listed) is `None`, which the planner treats as unlimited.
pub fn quota_headroom(usages: &[Usage], priority: AciPriority) -> (Option<u32>, Option<i64>) {
    let left = |name: &str| {
        usages
            .iter()
            .find(|u| u.name.value.eq_ignore_ascii_case(name))
            .map(|u| u.limit.saturating_sub(u.current_value).max(0))
    };
    let groups = left("ContainerGroups").map(|g| u32::try_from(g).unwrap_or(u32::MAX));
    let cores_name = match priority {
        AciPriority::Regular => "StandardCores",
        AciPriority::Spot => "StandardSpotCores",
    };
    let cores = left(cores_name).map(|c| c.saturating_mul(1000));
    (groups, cores)
}

/// Combine the client's pacing with a usage listing into the planner's view.
pub fn burst_headroom(
    pacing: PacingHeadroom,
    usages: Option<&[Usage]>,
    priority: AciPriority,
) -> BurstHeadroom {
    let (groups, cores_millis) = usages
        .map(|u| quota_headroom(u, priority))
        .unwrap_or((None, None));
    BurstHeadroom {
        creates: Some(pacing.creates),
        deletes: Some(pacing.deletes),
        groups,
        cores_millis,
    }
}

impl AciClient {
    /// The planner's headroom for `location`: pacing budget and regional quota.
    pub async fn headroom(&self, location: &str, priority: AciPriority) -> Result<BurstHeadroom, AciError> {
        let usages = self.usages(location).await?;
        Ok(burst_headroom(self.pacing_headroom(), Some(&usages), priority))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UsageName;

    fn usage(name: &str, current: i64, limit: i64) -> Usage {
        Usage {
            name: UsageName {
                value: name.into(),
                localized_value: None,
            },
            current_value: current,
            limit,
            ..Default::default()
        }
    }

    /// Found by `fuzz/fuzz_targets/arm_response.rs`: `limit - currentValue`
    /// overflowed (a panic with overflow checks, a wrapped negative and so
    /// zero headroom without) on extreme values in a usages response.
    #[test]
    fn extreme_usages_saturate() {
        let u = [
            usage("ContainerGroups", -5, i64::MAX),
            usage("StandardCores", 1, i64::MIN),
            usage("StandardSpotCores", i64::MIN, i64::MAX),
        ];
        assert_eq!(
            quota_headroom(&u, AciPriority::Regular),
            (Some(u32::MAX), Some(0))
        );
        assert_eq!(
            quota_headroom(&u, AciPriority::Spot),
            (Some(u32::MAX), Some(i64::MAX))
        );
    }

    #[test]
    fn quota_from_usages() {
        let u = [
            usage("ContainerGroups", 40, 100),
            usage("StandardCores", 90, 100),
            usage("StandardSpotCores", 3, 10),
        ];
        assert_eq!(quota_headroom(&u, AciPriority::Regular), (Some(60), Some(10_000)));
        assert_eq!(quota_headroom(&u, AciPriority::Spot), (Some(60), Some(7_000)));
        assert_eq!(
            quota_headroom(&[usage("ContainerGroups", 120, 100)], AciPriority::Regular),
            (Some(0), None)
        );
        let h = burst_headroom(
            PacingHeadroom {
                creates: 5,
                deletes: 7,
            },
            None,
            AciPriority::Regular,
        );
        assert_eq!(
            (h.creates, h.deletes, h.groups, h.cores_millis),
            (Some(5), Some(7), None, None)
        );
    }
}
