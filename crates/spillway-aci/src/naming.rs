//! ACI naming rules (CONTRACT.md §2.1): 1–63 characters, lowercase letters,
//! digits and hyphens, no leading/trailing hyphen, no `--`.

use crate::error::AciError;

/// Why `name` is not a valid container-group (or container) name, if it is not.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 63 {
        return Some(format!("{name:?} must be 1 to 63 characters long"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some(format!(
            "{name:?} may only hold lowercase letters, digits and '-'"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some(format!("{name:?} must not start or end with '-'"));
    }
    if name.contains("--") {
        return Some(format!("{name:?} must not contain '--'"));
    }
    None
}

pub(crate) fn check_group_name(name: &str) -> Result<(), AciError> {
    match name_problem(name) {
        None => Ok(()),
        Some(p) => Err(AciError::InvalidArgument(format!("container group name {p}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        for ok in ["a", "prod-weu-1-web-0", &"a".repeat(63)] {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }
}
