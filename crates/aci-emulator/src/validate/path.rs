//! Path checks shared by every ARM route: subscription id, resource group name, group name.

use super::is_valid_group_name;
use crate::error::ArmError;

fn is_subscription_id(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok() && s.len() == 36
}

/// Path checks shared by every container-group route.
pub fn check_path(sub: &str, rg: Option<&str>, name: Option<&str>) -> Result<(), ArmError> {
    if !is_subscription_id(sub) {
        return Err(ArmError::bad_request(
            "InvalidSubscriptionId",
            format!("The provided subscription identifier '{sub}' is malformed or invalid."),
        ));
    }
    if let Some(rg) = rg {
        let ok = (1..=90).contains(&rg.chars().count())
            && rg.chars().all(|c| c.is_alphanumeric() || "-_.()".contains(c))
            && !rg.ends_with('.');
        if !ok {
            return Err(ArmError::bad_request(
                "InvalidResourceGroupName",
                format!(
                    "The resource group name '{rg}' is invalid. It must be 1-90 characters of letters, digits, '-', '_', '.', '(' or ')' and must not end with '.'."
                ),
            ));
        }
    }
    if let Some(name) = name
        && !is_valid_group_name(name)
    {
        return Err(ArmError::bad_request(
            "InvalidContainerGroupName",
            format!(
                "The container group name '{name}' is invalid. The name must be 1 to 63 characters long, \
                 contain only lowercase letters, numbers and hyphens, must not start or end with a hyphen \
                 and must not contain consecutive hyphens."
            ),
        ));
    }
    Ok(())
}
